"""CameraLifecycle: allowed transitions only, one status event per change, credentials never shown."""

from __future__ import annotations

import pytest

from ingest.lifecycle import CameraLifecycle, IllegalTransition
from ingest.status import CameraState as S
from tests.ingest.conftest import StatusLog


def test_every_change_emits_one_status_with_previous_state_and_counters() -> None:
    log = StatusLog()
    life = CameraLifecycle("cam", log)
    for state in (S.CONNECTING, S.STREAMING, S.STALLED, S.BACKOFF, S.CONNECTING, S.STREAMING, S.STOPPED):
        life.move(state, "why")
    assert not life.move(S.STOPPED)  # no change, no event
    assert log.states("cam") == ["connecting", "streaming", "stalled", "backoff", "connecting", "streaming",
                                 "stopped"]
    assert [e.previous.value if e.previous else None for e in log.events][:2] == ["stopped", "connecting"]
    last = log.events[-1]
    assert (last.reconnects, last.stalls, last.online) == (1, 1, False)


def test_a_move_not_in_the_table_is_refused() -> None:
    life = CameraLifecycle("cam", StatusLog())
    with pytest.raises(IllegalTransition, match="stopped -> streaming"):
        life.move(S.STREAMING)


def test_only_from_ignores_a_move_based_on_a_stale_state() -> None:
    life = CameraLifecycle("cam", StatusLog())
    life.move(S.CONNECTING)
    assert not life.move(S.STALLED, "silent", only_from=S.STREAMING)
    assert life.state is S.CONNECTING


def test_reasons_are_redacted_and_a_failing_listener_does_not_stop_the_camera() -> None:
    def broken(_: object) -> None:
        raise RuntimeError("listener bug")

    life = CameraLifecycle("cam", broken)
    life.move(S.CONNECTING, "cannot open rtsp://admin:hunter2@10.0.0.5/stream")
    assert life.status.reason == "cannot open rtsp://***@10.0.0.5/stream"
