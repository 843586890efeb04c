"""The API's wire types: what requests may carry and what answers look like (served in the OpenAPI schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.api import TimeRange

TINY_NOTE = "tiny — untrained, mechanics only"


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GapView(Wire):
    start: float = Field(description="Unix seconds of the last frame before the hole")
    end: float = Field(description="Unix seconds of the first frame after the hole")
    chunks: int = Field(description="chunks of the cache missing there (refused on restore and quarantined, or lost)")


class TimeRangeView(Wire):
    start: float = Field(description="Unix seconds of the first frame the answer saw")
    end: float = Field(description="Unix seconds of the last frame the answer saw")
    gaps: list[GapView] = Field(default_factory=list, description="holes between start and end that were not seen")

    @classmethod
    def of(cls, seen: TimeRange) -> TimeRangeView:
        gaps = [GapView(start=g.start, end=g.end, chunks=g.chunks) for g in seen.gaps]
        return cls(start=seen.start, end=seen.end, gaps=gaps)


class AskRequest(Wire):
    question: str = Field(min_length=1, max_length=4000, description="the operator's question")
    mode: Literal["yes_no", "text"] = Field("yes_no", description="yes_no: P(yes); text: a short free answer")
    window_s: float | None = Field(None, gt=0, description="ask about the last window_s seconds only")
    max_tokens: int | None = Field(None, ge=1, le=1024, description="cap on a text answer (engine.max_new_tokens)")


class AskResponse(Wire):
    camera_id: str
    mode: Literal["yes_no", "text"]
    question: str
    p_yes: float | None = Field(description="P(yes) in yes_no mode, else null")
    text: str | None = Field(description="the answer in text mode, else null")
    seen: TimeRangeView
    latency_ms: float
    model: str = Field(description="engine.model preset that answered")
    model_note: str | None = Field(description="set when the answer must not be read as a detection")


class EngineView(Wire):
    lag_s: float
    kv_tokens: int
    kv_bytes: int
    chunks: int
    frames_in: int
    groups_dropped: int
    seen: TimeRangeView | None
    gaps: list[GapView] = Field(description="holes in the cached video (quarantined or lost chunks), oldest first")


class RuleView(Wire):
    id: str
    kind: str = Field(description="question, motion, presence or camera_offline")
    severity: str
    question: str | None = None
    threshold: float
    region: list[tuple[float, float]] | None = Field(None, description="normalised box or polygon the rule watches")
    direction: tuple[float, float] | None = Field(None, description="belt direction [dx, dy], image axes, y down")


class CameraView(Wire):
    id: str
    name: str
    enabled: bool
    source: str
    state: str = Field(description="connecting, streaming, stalled, backoff, stopped, or disabled")
    badge: Literal["streaming", "stalled", "offline"]
    reason: str
    fps: float | None = Field(description="sampled frames per second over the last seconds")
    last_frame_t: float | None = Field(description="Unix seconds of the newest frame in memory")
    engine: EngineView | None
    stats: dict[str, Any] = Field(description="ingest counters as the ingest package reports them")
    rules: list[RuleView]


class LimitsView(Wire):
    max_question_chars: int
    max_window_s: float
    max_clip_s: float
    max_body_bytes: int


class InfoView(Wire):
    model: str | None = Field(description="engine.model, or null when the engine is disabled")
    model_note: str | None
    auth_required: bool
    limits: LimitsView
    clip_pre_s: float
    clip_post_s: float
    region_conditions: dict[str, bool] = Field(
        default_factory=dict, description="condition types the zone editor can draw: type -> takes a direction")


class ReadyView(Wire):
    ready: bool = Field(description="the engine is loaded (or disabled) and alerts can be delivered")
    engine: Literal["loaded", "disabled"]
    redis: bool = Field(description="Redis answered a PING just now (alerts may still be ready via the outbox)")
    reason: str = Field(description="why Redis is not used now, and where alerts go meanwhile; empty when it is")


class AlertList(Wire):
    alerts: list[dict[str, Any]] = Field(description="alert events, newest first (docs/alert-event.schema.json)")


class LiveTicketView(Wire):
    ticket: str = Field(description="opaque; valid for one camera until expires_at")
    expires_at: float = Field(description="Unix seconds after which the ticket opens nothing")
    url: str = Field(description="the live stream's path with the ticket, for an <img src>")


class FootageView(Wire):
    start: float = Field(description="Unix seconds: the range asked about")
    end: float
    retained: TimeRangeView | None = Field(description="oldest and newest stored frame of the camera, if any")
    frames: int = Field(description="stored frames in the range")
    gap_s: float = Field(description="frames further apart than this split a span")
    spans: list[tuple[float, float]] = Field(description="(first, last) Unix seconds of each covered run")


class ErrorBody(Wire):
    error: str = Field(description="what was wrong and how to fix it; never echoes a secret or a long input")


_ERRORS: dict[int, str] = {
    400: "a value out of range (a time that is not finite or not 1970..9999, an inverted clip, a bad offer)",
    401: "the bearer token is missing or wrong (api.token)",
    404: "unknown camera, or nothing stored at that time",
    409: "the camera or the engine cannot do this now (not a webrtc camera, nothing seen yet)",
    413: "the request body is larger than api.max_body_bytes",
    415: "the body is not of the media type this route reads",
    422: "a parameter or the body does not match the schema",
    503: "a part the answer needs is away (engine disabled, Redis unreachable, too many live streams)",
    504: "the engine did not answer in time",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error statuses: each a JSON ErrorBody ({"error": reason})."""
    return {status: {"model": ErrorBody, "description": _ERRORS[status]} for status in statuses}
