"""Camera lifecycle states, the transitions allowed between them, and the status event."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CameraState(StrEnum):
    CONNECTING = "connecting"
    STREAMING = "streaming"
    STALLED = "stalled"
    BACKOFF = "backoff"
    STOPPED = "stopped"


ALLOWED: dict[CameraState, frozenset[CameraState]] = {
    CameraState.CONNECTING: frozenset({CameraState.STREAMING, CameraState.BACKOFF, CameraState.STOPPED}),
    CameraState.STREAMING: frozenset({CameraState.STALLED, CameraState.BACKOFF, CameraState.STOPPED}),
    CameraState.STALLED: frozenset({CameraState.BACKOFF, CameraState.STREAMING, CameraState.STOPPED}),
    CameraState.BACKOFF: frozenset({CameraState.CONNECTING, CameraState.STOPPED}),
    CameraState.STOPPED: frozenset({CameraState.CONNECTING}),
}


@dataclass(frozen=True, slots=True)
class CameraStatus:
    """Emitted on every state change; `reason` never contains credentials."""

    camera_id: str
    state: CameraState
    previous: CameraState | None
    t_wall: float
    reason: str = ""
    reconnects: int = 0
    stalls: int = 0

    @property
    def online(self) -> bool:
        return self.state is CameraState.STREAMING
