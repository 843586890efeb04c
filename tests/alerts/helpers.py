"""Builders shared by the alerts tests."""

from __future__ import annotations

from alerts.build import build_event
from alerts.event import AlertEvent, EventType
from alerts.state import Occurrence, Transition
from config.rules import RuleSettings
from config.service import RedisSettings

T = 1_750_000_000.0
RULE = RuleSettings.model_validate({"id": "jam", "condition": {"type": "question", "text": "Is it jammed?"}})


def event(n: int, camera: str = "line1", kind: EventType = EventType.STARTED) -> AlertEvent:
    """A distinct, valid event: occurrence n."""
    occ = Occurrence(f"{camera}:jam:{n}", T + n, 0.9, 0.9, "warning")
    return build_event(RULE, camera, Transition(kind, occ, 0.9, T + n + 1))


def redis_settings(**kw: object) -> RedisSettings:
    base: dict[str, object] = {"retry_s": 0.05, "connect_timeout_s": 0.5}
    return RedisSettings.model_validate(base | kw)
