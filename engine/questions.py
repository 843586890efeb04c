"""Questions run on a view: yes/no as one packed forward, free text as greedy decoding. Only their own tokens."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from engine.layers import NewTokens, logits_of, run_layers, run_sequences, token_logits
from engine.masks import packed_mask
from engine.protocols import StreamModel
from engine.views import QuestionView


@torch.inference_mode()
def yes_no(model: StreamModel, view: QuestionView, questions: Sequence[str]) -> list[float]:
    """P(yes) per question: softmax over the [yes, no] logits at each question's last token, all in one forward."""
    return yes_no_views(model, [(view, questions)])[0]


@torch.inference_mode()
def yes_no_views(model: StreamModel, asks: Sequence[tuple[QuestionView, Sequence[str]]]) -> list[list[float]]:
    """`yes_no` for several views (cameras) in one forward: each view's questions packed after it, attending to
    that view in place (layers.run_sequences), projections and MLP over every question token at once."""
    seqs, sizes = [], []
    for view, questions in asks:
        x, positions, lengths = packed_questions(model, view, questions)
        mask = packed_mask(view.length, lengths, x.device)
        seqs.append(NewTokens(x, positions, view.scratch(model.lm, x.shape[0]), mask))
        sizes.append(lengths)
    return [p_yes(model, out.hidden, lengths) for out, lengths in zip(run_sequences(model.lm, seqs), sizes,
                                                                       strict=True)]


def packed_questions(
    model: StreamModel, view: QuestionView, questions: Sequence[str]
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """The questions' embeddings packed one after another [T, D], their positions right after the view [T] (each
    question starts at view.length), and their token counts."""
    embeds = [model.embed(model.prompt.question_ids(q)) for q in questions]
    lengths = [int(e.shape[0]) for e in embeds]
    positions = torch.cat([torch.arange(view.length, view.length + n) for n in lengths])
    return torch.cat(embeds), positions, lengths


def p_yes(model: StreamModel, hidden: torch.Tensor, lengths: Sequence[int]) -> list[float]:
    """P(yes) of each packed question from the residual states [T, D]: softmax over [yes, no] at its last token."""
    last = (torch.tensor(lengths).cumsum(0) - 1).to(hidden.device)
    logits = token_logits(model.lm, hidden[last], [model.prompt.yes_id, model.prompt.no_id])  # [Q, 2]
    return [float(p) for p in logits.float().softmax(dim=-1)[:, 0]]


@torch.inference_mode()
def answer_text(model: StreamModel, view: QuestionView, question: str, max_tokens: int) -> str:
    """Greedy decoding after the question, stopping at <|im_end|> or after max_tokens tokens."""
    x = model.embed(model.prompt.question_ids(question))
    scratch = view.scratch(model.lm, x.shape[0] + max_tokens)
    positions = torch.arange(view.length, view.length + x.shape[0])
    mask = packed_mask(view.length, [x.shape[0]], x.device)
    tokens: list[int] = []
    while True:
        hidden = run_layers(model.lm, x, positions, scratch, mask).hidden
        token = int(logits_of(model.lm, hidden[-1:]).argmax(dim=-1)[0])
        if token == model.prompt.im_end_id:
            break
        tokens.append(token)
        if len(tokens) >= max_tokens:
            break
        x = model.embed([token])
        positions = torch.tensor([scratch.length])
        mask = torch.ones(1, scratch.length + 1, dtype=torch.bool, device=x.device)
    return str(model.tokenizer.decode(tokens, skip_special_tokens=True))
