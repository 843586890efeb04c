"""Test doubles for alerts/: a frame feed over the synthetic scene, a scripted engine."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import jsonschema
import pytest

from alerts.clock import VirtualClock
from alerts.event import AlertEvent
from alerts.schema import SCHEMA_PATH
from engine.api import EngineError, TextAnswer, TimeRange, YesNoAnswer
from ingest.frame import Frame
from ingest.scene import FactoryScene

T0 = 1_750_000_000.0  # virtual wall time at which every test's scene starts


class SceneFeed:
    """A FrameFeed whose frames are the scene rendered at `fps` up to the clock's current time."""

    def __init__(self, scene: FactoryScene, clock: VirtualClock, fps: float = 2.0, camera_id: str = "line1",
                 start: float = T0) -> None:
        self._scene, self._clock, self._fps, self._camera, self._start = scene, clock, fps, camera_id, start
        self._frames: deque[Frame] = deque(maxlen=int(60 * fps))
        self._seq = 0
        self.frozen = False  # a stalled camera: no new frames

    def _fill(self) -> None:
        while not self.frozen and self._start + self._seq / self._fps <= self._clock.now():
            t = self._seq / self._fps
            self._frames.append(Frame.make(self._camera, self._seq, self._start + t, self._start + t,
                                           self._scene.render(t)))
            self._seq += 1

    def since(self, seq: int) -> list[Frame]:
        self._fill()
        return [f for f in self._frames if f.seq >= seq]

    def latest(self) -> Frame | None:
        self._fill()
        return self._frames[-1] if self._frames else None


class ScriptedEngine:
    """An engine double: P(yes) from a function of (question, call number); records every call."""

    def __init__(self, p_yes: Any = None, fail_with: Exception | None = None) -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.texts: list[str] = []
        self._p_yes = p_yes or (lambda q, n: 0.0)
        self._fail = fail_with

    async def ask_yes_no(self, camera_id: str, questions: list[str], window_s: float | None = None) -> YesNoAnswer:
        self.calls.append((camera_id, tuple(questions)))
        if self._fail is not None:
            raise self._fail
        p = tuple(float(self._p_yes(q, len(self.calls))) for q in questions)
        return YesNoAnswer(camera_id, tuple(questions), p, TimeRange(T0, T0), 1.0)

    async def ask_text(self, camera_id: str, question: str, max_tokens: int = 64) -> TextAnswer:
        self.texts.append(question)
        if self._fail is not None:
            raise EngineError("nothing seen yet")
        return TextAnswer(camera_id, question, "Boxes are stuck at the end of the belt.\nmore", TimeRange(T0, T0), 1.0)


@pytest.fixture(scope="session")
def event_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def check_schema(event_json: str | bytes, schema: dict[str, Any]) -> AlertEvent:
    """Validate one published event against docs/alert-event.schema.json, then parse it."""
    jsonschema.validate(json.loads(event_json), schema, format_checker=jsonschema.FormatChecker())
    return AlertEvent.from_json(event_json)
