"""Tokenizers: the checkpoint's own, or a small byte-level BPE trained offline in milliseconds for tiny models."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from engine.model.errors import CheckpointError

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                  "<|vision_pad|>", "<|image_pad|>")
# Qwen2's pre-tokenizer split: every digit is its own token, so "Time 12.5s:" tokenizes as in the real model.
_QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
_CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                  "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
_CORPUS = (
    "system\nYou are a helpful assistant.\nuser\nassistant\n",
    "Yes No Yes. No. yes no",
    "Time 0.0s: Time 1.5s: Time 12.5s: Time 123.4s: Time 9876.5s: 0123456789",
    "Is the conveyor belt jammed? Is a person in the restricted zone? Did a box fall on the floor?",
    "Is anyone not wearing a helmet? Is there smoke or fire? Describe what happens in the video.",
    "The belt is moving normally. A worker is standing near the machine. Nothing unusual is visible.",
)


@functools.lru_cache(maxsize=1)
def tiny_tokenizer() -> Any:
    """A deterministic byte-level BPE with the Qwen chat special tokens; one per process, it is immutable in use."""
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_QWEN_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, min_frequency=1, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    core.train_from_iterator(_CORPUS * 4, trainer=trainer)
    wrapper: Any = PreTrainedTokenizerFast
    tokenizer = wrapper(tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        additional_special_tokens=list(SPECIAL_TOKENS[1:]))
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer


def load_tokenizer(directory: Path) -> Any:
    """The tokenizer saved beside the weights; never looks anywhere but the directory."""
    try:
        # The fast class reads only tokenizer files; AutoTokenizer would also parse the llava_qwen config.json.
        return PreTrainedTokenizerFast.from_pretrained(str(directory), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise CheckpointError(
            f"cannot load the tokenizer from {directory}: {exc}. The checkpoint directory needs tokenizer.json "
            "(or vocab.json + merges.txt) and tokenizer_config.json"
        ) from exc
