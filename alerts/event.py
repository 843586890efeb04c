"""The alert event: the versioned wire format published on Redis (schema in docs/alert-event.schema.json)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from engine.api import ModelIdentity

_TIME: dict[str, JsonValue] = {"format": "date-time"}  # advertises ISO-8601 in the published schema

SCHEMA_VERSION = 1


class EventType(StrEnum):
    STARTED = "started"
    UPDATED = "updated"
    ENDED = "ended"
    SUPPRESSED = "suppressed"  # held for `for` inside the rule's cooldown: recorded, announced late if it lasts


def iso(t: float) -> str:
    """Unix seconds as ISO-8601 UTC with milliseconds."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def unix(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SnapshotRef(_Wire):
    """A still of the camera at one instant, served by the footage API."""

    camera: str = Field(description="camera id")
    at: str = Field(description="ISO-8601 time of the frame to show", json_schema_extra=_TIME)
    path: str = Field(description="API path that serves the JPEG")


class ClipRange(_Wire):
    """The footage around the alert: start - pre-roll to end + post-roll (open alerts: up to now + post-roll)."""

    camera: str = Field(description="camera id")
    start: str = Field(description="ISO-8601 start of the clip", json_schema_extra=_TIME)
    end: str = Field(description="ISO-8601 end of the clip", json_schema_extra=_TIME)
    path: str = Field(description="API path that exports the clip as MP4")


class ModelInfo(_Wire):
    """The model that answered a question rule. A score from an untrained model is mechanics, not a detection."""

    preset: str = Field(description="model dimensions: tiny, bench (random weights, for tests and benchmarks) or "
                        "videoxl2 (the released size)")
    checkpoint: str | None = Field(description="checkpoint directory the weights came from; null for seeded random "
                                   "weights")
    fingerprint: str = Field(description="hash of the model's dimensions and weights")
    trained: bool = Field(description="false: random weights, the score is not a detection and must not be acted on")
    label: str = Field(description="one line for people, starting with UNTRAINED when trained is false")

    @classmethod
    def of(cls, identity: ModelIdentity) -> ModelInfo:
        return cls(preset=identity.preset, checkpoint=identity.checkpoint, fingerprint=identity.fingerprint,
                   trained=identity.trained, label=identity.label)


class PersonBoxWire(_Wire):
    """One person counted in the zone: a box in normalized image coordinates (0..1, origin top-left)."""

    x0: float = Field(ge=0, le=1, description="left edge, fraction of the frame width")
    y0: float = Field(ge=0, le=1, description="top edge (head), fraction of the frame height")
    x1: float = Field(ge=0, le=1, description="right edge, fraction of the frame width")
    y1: float = Field(ge=0, le=1, description="bottom edge (feet: the ground point is its centre), fraction of height")
    track: int | None = Field(None, ge=0, description="tracker id, the same while the person is tracked; null for "
                              "a person seen once and not tracked yet")
    dwell_s: float = Field(ge=0, description="seconds this person has stood in the zone")


class PeopleWire(_Wire):
    """What a presence rule saw at its latest scanned frame before this event."""

    count: int = Field(ge=0, description="people counted in the zone (feet inside, stayed min_dwell_s)")
    at: str = Field(description="ISO-8601 time of the frame the boxes belong to (fetch it with the snapshot "
                    "path's t=)", json_schema_extra=_TIME)
    boxes: list[PersonBoxWire] = Field(description="one box per counted person, for drawing on that frame")


class AlertEvent(_Wire):
    """One change of one alert occurrence. `id` is the same for every event of that occurrence."""

    schema_version: Literal[1] = Field(1, description="wire-format version (SCHEMA_VERSION)")
    event_id: str = Field(description="unique per event: '{id}/{seq}'; consumers deduplicate on it")
    id: str = Field(description="occurrence id, stable from started to ended, across service restarts")
    seq: int = Field(ge=0, description="0 for the first event (started, or suppressed when the occurrence began "
                     "inside the rule's cooldown), then +1 per event of the occurrence")
    type: EventType = Field(description="started, updated or ended; suppressed: the condition held for `for` inside "
                            "the rule's cooldown (started follows if it still holds when the cooldown ends)")
    rule: str = Field(description="rule id")
    camera: str = Field(description="camera id")
    condition: Literal["question", "motion", "conveyor", "presence", "camera_offline"] = Field(
        description="condition type"
    )
    severity: Literal["info", "warning", "critical"] = Field(description="severity from the rule")
    score: float = Field(ge=0, le=1, description="score at this event, 0..1")
    peak_score: float = Field(ge=0, le=1, description="highest score of the occurrence so far")
    question: str | None = Field(None, description="the question asked (question rules), else a description")
    explanation: str | None = Field(None, description="the model's one-sentence explanation, when asked for")
    started_at: str = Field(description="ISO-8601 time the condition began to hold", json_schema_extra=_TIME)
    ended_at: str | None = Field(
        None, description="ISO-8601 time the condition stopped holding (ended only)", json_schema_extra=_TIME
    )
    emitted_at: str = Field(description="ISO-8601 time this event was produced", json_schema_extra=_TIME)
    measured: dict[str, float] | None = Field(
        None, description="what the detector measured at this event (conveyor: speed_px_s and normal_speed_px_s "
        "in pixels per second of the camera's frame, pct_of_normal, held_cells / cells for a pile-up)"
    )
    snapshot: SnapshotRef = Field(description="frame at the start of the alert")
    clip: ClipRange = Field(description="footage covering the alert with pre- and post-roll")
    people: PeopleWire | None = Field(None, description="presence rules: the people counted and their boxes")
    model: ModelInfo | None = Field(
        None, description="question rules: the model whose answer this is (preset, checkpoint, fingerprint, trained); "
        "null for the detector rules and for events written before it existed"
    )

    @property
    def untrained(self) -> bool:
        """True when an untrained model's answer raised this event: show it as such, never as a detection."""
        return self.model is not None and not self.model.trained

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> AlertEvent:
        return cls.model_validate_json(text)
