"""The small interfaces alerts/ needs from the rest of Vigil; the real parts satisfy them structurally."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from alerts.event import AlertEvent
from engine.api import TextAnswer, YesNoAnswer
from ingest.frame import Frame

if TYPE_CHECKING:
    from alerts.store import Saved


class FrameFeed(Protocol):
    """A camera's frame ring (ingest's FrameBuffer): frames in sequence order."""

    def since(self, seq: int) -> list[Frame]:
        """Frames with a sequence number >= seq still held, oldest first."""
        ...

    def latest(self) -> Frame | None: ...


class QuestionEngine(Protocol):
    """The engine client's question methods (engine.client.EngineClient)."""

    async def ask_yes_no(self, camera_id: str, questions: list[str], window_s: float | None = None) -> YesNoAnswer: ...

    async def ask_text(self, camera_id: str, question: str, max_tokens: int = 64) -> TextAnswer: ...


class EventSink(Protocol):
    """Where the runner sends events (AlertPublisher). Returning means the event is durable."""

    async def publish(self, event: AlertEvent) -> None: ...


class Clock(Protocol):
    """Wall time and sleeping, injectable so tests run rules faster than real time."""

    def now(self) -> float:
        """Unix seconds."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class RuleStore(Protocol):
    """Where rule state survives a restart (alerts.store.RuleStateStore: a file; cluster mode: Redis).
    Blocking; the runner calls it from a worker thread."""

    def load(self) -> dict[str, Saved]: ...

    def save(self, saved: dict[str, Saved]) -> None: ...
