"""The largest position a camera's stream or a question can reach, checked against the model before any frame.

Stream positions are re-based when old chunks leave the retention window (kvstore.py), so the largest one is
bounded by the retained chunks plus the open one; a question's view is compacted (never longer than the stream) and
its own tokens and answer come after it. The model's RoPE was trained up to `max_position_embeddings` (32,768 for
Qwen2.5-7B, reference §1.7): a configuration that could go past it is refused at start, with the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.engine import EngineSettings
from engine.api import EngineError
from engine.protocols import StreamModel
from engine.session import SessionShape

QUESTION_TOKENS = 256  # room budgeted for a question's own tokens (asking.SPARE_TOKENS): a long rule question


@dataclass(frozen=True, slots=True)
class PositionBudget:
    prefix: int  # prompt prefix tokens
    group: int  # tokens of one group at most: widest timestamp + visual tokens
    chunks: int  # chunks that can hold positions at once: retained cap + the open one
    chunk_groups: int
    answer: int  # question tokens + longest free-text answer

    @property
    def largest(self) -> int:
        """The largest position any token can take (positions count from 0)."""
        return self.prefix + self.chunks * self.chunk_groups * self.group + self.answer - 1


def budget(model: StreamModel, settings: EngineSettings, shape: SessionShape) -> PositionBudget:
    group = widest_timestamp(model, shape.time_period_s) + int(model.spec.tokens_per_group)
    return PositionBudget(len(model.prompt.prefix_ids), group, shape.max_chunks + 1, shape.chunk_groups,
                          QUESTION_TOKENS + settings.max_new_tokens)


def widest_timestamp(model: StreamModel, period_s: float) -> int:
    """Tokens of the longest prompt time below the period: every digit count, every repeated digit."""
    digits = len(str(int(period_s)))
    times = {round(period_s - 0.1, 1)}
    times |= {float(f"{str(d) * n}.{d}") for d in range(10) for n in range(1, digits + 1)}
    return max(len(model.prompt.timestamp_ids(t)) for t in times if t < period_s)


def check_positions(model: StreamModel, settings: EngineSettings, shape: SessionShape) -> PositionBudget:
    """EngineError unless every position stays below the model's max_position_embeddings."""
    limit = int(getattr(model.lm.config, "max_position_embeddings", 0) or 0)
    need = budget(model, settings, shape)
    if limit and need.largest >= limit:
        per_s = settings.fps / 4 * need.group
        fit = max(0.0, (limit - need.prefix - need.answer - 2 * shape.chunk_groups * need.group) / per_s)
        raise EngineError(
            f"engine.retention_s {settings.retention_s:g} at engine.fps {settings.fps:g} reaches position "
            f"{need.largest:,} ({need.chunks} chunks x {need.chunk_groups} groups x {need.group} tokens + prefix "
            f"{need.prefix} + question and answer {need.answer}), past the model's max_position_embeddings "
            f"{limit:,}: lower engine.retention_s to about {fit:,.0f} s or less, or engine.fps"
        )
    return need
