"""Yes/no questions of several cameras in one forward: each camera's questions on its own view, as one lane.

Within a lane the questions are packed exactly as `questions.yes_no` packs them (each sees the whole view and
itself causally); lanes never see each other (engine/lanes.py), so a camera's P(yes) is what `yes_no` gives on the
same view alone, within float rounding.

Two ways, by device. On an accelerator the lanes run padded (engine/lanes.py): every view's keys are copied into
one scratch so each layer's attention is one SDPA call. On a CPU that copy (a view's whole K and V, per camera,
per batch) costs as much as the attention that reads it, and one call per camera costs nothing, so each camera's
questions attend to its view in place (`questions.yes_no_views`); projections and MLP are batched either way.
Views are only read, except for the spare room after them that questions always write into.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from engine.lanes import Lane, run_lanes, scratch_for_rotated
from engine.masks import packed_mask
from engine.protocols import StreamModel
from engine.questions import p_yes, packed_questions, yes_no_views
from engine.steps import drain
from engine.views import QuestionView


@torch.inference_mode()
def yes_no_lanes(
    model: StreamModel, asks: Sequence[tuple[QuestionView, Sequence[str]]], padded: bool | None = None
) -> list[list[float]]:
    """P(yes) per question for each (view, questions): softmax over [yes, no] at each question's last token.
    `padded` picks the way (default: padded off the CPU, in place on it)."""
    if not asks:
        return []
    if not (padded if padded is not None else asks[0][0].k.device.type != "cpu"):
        return yes_no_views(model, asks)
    lanes, lengths = [], []
    for view, questions in asks:
        x, positions, sizes = packed_questions(model, view, questions)
        lanes.append(Lane(x, positions, packed_mask(0, sizes, x.device)))
        lengths.append(sizes)
    keys = [view.k[:, :, : view.length] for view, _ in asks]
    values = [view.v[:, :, : view.length] for view, _ in asks]
    outputs = drain(run_lanes(model.lm, lanes, scratch_for_rotated(model.lm, keys, values, lanes)))
    return [p_yes(model, out.hidden, sizes) for out, sizes in zip(outputs, lengths, strict=True)]


Selection = tuple[QuestionView, list[int]]  # a view, and the indices of the job's questions asked on it


def yes_no_jobs(model: StreamModel, jobs: Sequence[tuple[Sequence[str], Sequence[Selection]]]) -> list[list[float]]:
    """For each job (its questions, and the views they are asked on: one, or one per relevance selection), P(yes)
    per question in the job's order; every view of every job is one lane of one forward."""
    asks = [(view, [questions[i] for i in indices]) for questions, selections in jobs for view, indices in selections]
    flat = iter(yes_no_lanes(model, asks))
    out = []
    for questions, selections in jobs:
        p_yes = [0.0] * len(questions)
        for _, indices in selections:
            for i, p in zip(indices, next(flat), strict=True):
                p_yes[i] = p
        out.append(p_yes)
    return out
