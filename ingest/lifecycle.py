"""One camera's lifecycle: the current state, the allowed transitions (ingest.status.ALLOWED) and status events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from config.loader import redact_url
from ingest.metrics import RECONNECTS, STALLS, STATE
from ingest.status import ALLOWED, CameraState, CameraStatus

log = structlog.get_logger(__name__)
StatusSink = Callable[[CameraStatus], None]


class IllegalTransition(RuntimeError):
    """A bug: the supervisor tried a move that ALLOWED does not list."""


class CameraLifecycle:
    """Owns a camera's state; every change is checked against ALLOWED and reported once through `on_status`.

    Written by the camera's worker thread; read by anyone (status(), the API).
    """

    def __init__(self, camera_id: str, on_status: StatusSink) -> None:
        self.camera_id = camera_id
        self._on_status = on_status
        self._lock = threading.Lock()
        self._status = CameraStatus(camera_id, CameraState.STOPPED, None, time.time(), "not started")
        self._log = log.bind(camera_id=camera_id)
        for state in CameraState:
            STATE.labels(camera_id=camera_id, state=state.value).set(1 if state is CameraState.STOPPED else 0)

    @property
    def status(self) -> CameraStatus:
        return self._status

    @property
    def state(self) -> CameraState:
        return self._status.state

    def move(self, state: CameraState, reason: str = "", only_from: CameraState | None = None) -> bool:
        """Go to `state` and emit its status; False (nothing emitted) when already there, or when `only_from` is
        given and the camera is elsewhere (lets another thread act on a state it read a moment ago)."""
        with self._lock:
            old = self._status
            if state is old.state or (only_from is not None and old.state is not only_from):
                return False
            if state not in ALLOWED[old.state]:
                raise IllegalTransition(f"camera {self.camera_id!r}: {old.state} -> {state} is not allowed")
            reconnects = old.reconnects + (old.state is CameraState.BACKOFF and state is CameraState.CONNECTING)
            stalls = old.stalls + (state is CameraState.STALLED)
            self._status = CameraStatus(self.camera_id, state, old.state, time.time(), redact_url(reason),
                                        reconnects, stalls)
            # Emitted under the lock so listeners see the moves of two threads in the order they happened;
            # on_status must not block (the service only hops the event onto its loop).
            self._record(old, self._status)
        return True

    def restate(self, state: CameraState, reason: str) -> bool:
        """Say why again, in the same state (a stalled camera's growing silence), so its status text never goes
        stale; emits a status, counts nothing. False (nothing emitted) when the camera is not in `state`."""
        with self._lock:
            old = self._status
            if old.state is not state or old.reason == redact_url(reason):
                return False
            # t_wall stays the time of the state change: only the words are new
            self._status = CameraStatus(self.camera_id, state, old.previous, old.t_wall, redact_url(reason),
                                        old.reconnects, old.stalls)
            self._notify(self._status)
        return True

    def _record(self, old: CameraStatus, new: CameraStatus) -> None:
        STATE.labels(camera_id=self.camera_id, state=old.state.value).set(0)
        STATE.labels(camera_id=self.camera_id, state=new.state.value).set(1)
        if new.reconnects > old.reconnects:
            RECONNECTS.labels(camera_id=self.camera_id).inc()
        if new.stalls > old.stalls:
            STALLS.labels(camera_id=self.camera_id).inc()
        level = "warning" if new.state in (CameraState.STALLED, CameraState.BACKOFF) else "info"
        getattr(self._log, level)("camera.state", state=new.state.value, previous=old.state.value, reason=new.reason)
        self._notify(new)

    def _notify(self, new: CameraStatus) -> None:
        try:
            self._on_status(new)
        except Exception:  # a failing listener must not stop the camera it listens to
            self._log.exception("camera.status_listener_failed", state=new.state.value)
