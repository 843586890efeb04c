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
class YesNoAnswer:
    camera_id: str
    questions: tuple[str, ...]
    p_yes: tuple[float, ...]  # one per question, P("Yes") / (P("Yes") + P("No"))
    seen: TimeRange
    latency_ms: float


@dataclass(frozen=True, slots=True)
class TextAnswer:
    camera_id: str
    question: str
    text: str
    seen: TimeRange
    latency_ms: float


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
