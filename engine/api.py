"""What crosses the engine's boundary: frozen answers and status, never tensors or caches."""

from __future__ import annotations

from dataclasses import dataclass

from config.errors import VigilError


class EngineError(VigilError):
    """The engine could not do what was asked (unknown camera, nothing seen yet, model failure)."""


@dataclass(frozen=True, slots=True)
class Gap:
    """A hole inside the retained video: chunks that were refused (quarantined) or lost on disk."""

    start: float  # Unix seconds of the last frame before the hole
    end: float  # Unix seconds of the first frame after it
    chunks: int  # chunks missing


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: float  # Unix seconds of the first frame seen
    end: float  # Unix seconds of the last frame seen
    gaps: tuple[Gap, ...] = ()  # holes between start and end that were not seen, oldest first


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """Which model answered: every answer (and every alert derived from one) carries it, so an untrained preset's
    output can never pass for a detection."""

    preset: str  # tiny | bench | videoxl2 (the dimensions)
    checkpoint: str | None  # the checkpoint directory the weights came from; None for seeded random weights
    fingerprint: str  # hash of the dimensions and weights (engine/model/weights.py)
    trained: bool  # False for random weights (tiny, bench, --random-weights, or a checkpoint saved from those)

    @property
    def label(self) -> str:
        """One line for people: what answered, and whether its answers mean anything."""
        where = f" from {self.checkpoint}" if self.checkpoint else ""
        if self.trained:
            return f"{self.preset} model{where} ({self.fingerprint[:12]})"
        return f"UNTRAINED {self.preset} model{where}, random weights ({self.fingerprint[:12]}): not a detection"


@dataclass(frozen=True, slots=True)
class YesNoAnswer:
    camera_id: str
    questions: tuple[str, ...]
    p_yes: tuple[float, ...]  # one per question, P("Yes") / (P("Yes") + P("No"))
    seen: TimeRange
    latency_ms: float
    model: ModelIdentity | None = None  # who answered (None only from test doubles)


@dataclass(frozen=True, slots=True)
class TextAnswer:
    camera_id: str
    question: str
    text: str
    seen: TimeRange
    latency_ms: float
    model: ModelIdentity | None = None  # who answered (None only from test doubles)


@dataclass(frozen=True, slots=True)
class EngineCameraStatus:
    camera_id: str
    frames_in: int
    groups_encoded: int
    groups_dropped: int
    chunks: int
    kv_tokens: int
    kv_bytes: int
    lag_s: float
    seen: TimeRange | None
