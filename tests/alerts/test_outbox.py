"""The on-disk outbox: order, restart, torn writes and its bound."""

from __future__ import annotations

from pathlib import Path

from alerts.outbox import Outbox
from tests.alerts.helpers import event


def reopen(directory: Path, max_bytes: int = 1 << 20) -> Outbox:
    box = Outbox(directory, max_bytes)
    box.open()
    return box


def test_events_come_back_in_order_after_a_restart(tmp_path: Path) -> None:
    box = reopen(tmp_path)
    for n in range(5):
        assert box.append(event(n))
    box.pop()
    box.pop()
    again = reopen(tmp_path)
    assert len(again) == 3 and again.peek() == event(2)


def test_torn_last_line_is_cut_off_and_the_rest_kept(tmp_path: Path) -> None:
    box = reopen(tmp_path)
    box.append(event(1))
    box.append(event(2))
    with open(tmp_path / "events.jsonl", "ab") as f:
        f.write(event(3).to_json().encode()[:40])  # a crash in the middle of an append
    again = reopen(tmp_path)
    assert len(again) == 2
    again.append(event(4))
    assert [reopen(tmp_path).peek()] == [event(1)] and len(reopen(tmp_path)) == 3


def test_unreadable_line_is_dropped_not_fatal(tmp_path: Path) -> None:
    box = reopen(tmp_path)
    box.append(event(1))
    with open(tmp_path / "events.jsonl", "ab") as f:
        f.write(b'{"not": "an event"}\n')
    box2 = reopen(tmp_path)
    box2.append(event(2))
    last = reopen(tmp_path)
    assert len(last) == 2 and last.peek() == event(1)


def test_fully_delivered_outbox_is_emptied_on_disk(tmp_path: Path) -> None:
    box = reopen(tmp_path)
    box.append(event(1))
    box.pop()
    assert (tmp_path / "events.jsonl").stat().st_size == 0 and len(reopen(tmp_path)) == 0


def test_bound_refuses_new_events_and_keeps_old_ones(tmp_path: Path) -> None:
    size = len(event(0).to_json()) + 1
    box = reopen(tmp_path, max_bytes=2 * size + 10)
    assert [box.append(event(n)) for n in range(4)] == [True, True, False, False]
    assert len(reopen(tmp_path, 2 * size + 10)) == 2
