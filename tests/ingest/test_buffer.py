"""FrameBuffer: a bounded ring with one writer and readers by sequence number."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ingest.buffer import FrameBuffer
from ingest.frame import Frame

PIXELS = np.zeros((4, 4, 3), np.uint8)


def push(buffer: FrameBuffer, n: int, t0: float = 1000.0) -> None:
    for _ in range(n):
        seq = buffer.next_seq
        buffer.append(Frame.make(buffer.camera_id, seq, float(seq), t0 + seq * 0.5, PIXELS))


def test_since_returns_frames_from_a_sequence_in_order() -> None:
    buffer = FrameBuffer("cam", 8)
    push(buffer, 5)
    assert [f.seq for f in buffer.since(2)] == [2, 3, 4]
    assert buffer.since(5) == []
    assert buffer.latest() is not None and buffer.latest().seq == 4  # type: ignore[union-attr]


def test_full_ring_drops_oldest_and_counts_evictions_and_late_readers() -> None:
    buffer = FrameBuffer("cam", 4)
    push(buffer, 10)
    assert [f.seq for f in buffer.since(0)] == [6, 7, 8, 9]
    stats = buffer.stats()
    assert (stats.size, stats.evicted, stats.missed, stats.next_seq) == (4, 6, 6, 10)


def test_window_selects_by_wall_time() -> None:
    buffer = FrameBuffer("cam", 16)
    push(buffer, 10)  # t_wall = 1000.0, 1000.5, ...
    assert [f.seq for f in buffer.window(1001.0, 1002.0)] == [2, 3, 4]


def test_append_refuses_a_frame_out_of_sequence_or_of_another_camera() -> None:
    buffer = FrameBuffer("cam", 4)
    with pytest.raises(ValueError, match="expected frame seq 0"):
        buffer.append(Frame.make("cam", 3, 0.0, 0.0, PIXELS))
    with pytest.raises(ValueError, match="'other'"):
        buffer.append(Frame.make("other", 0, 0.0, 0.0, PIXELS))


def test_frames_are_frozen_and_read_only() -> None:
    frame = Frame.make("cam", 0, 0.0, 0.0, PIXELS.copy())
    with pytest.raises(ValueError):
        frame.image[0, 0, 0] = 1
    with pytest.raises(AttributeError):
        frame.seq = 5  # type: ignore[misc]


def test_readers_on_other_threads_see_increasing_contiguous_runs() -> None:
    buffer = FrameBuffer("cam", 64)
    seen: list[list[int]] = [[] for _ in range(3)]
    done = threading.Event()

    def read(out: list[int]) -> None:
        next_seq = 0
        while not done.is_set() or next_seq < buffer.next_seq:
            for frame in buffer.since(next_seq):
                out.append(frame.seq)
                next_seq = frame.seq + 1

    readers = [threading.Thread(target=read, args=(out,)) for out in seen]
    for r in readers:
        r.start()
    push(buffer, 2000)
    done.set()
    for r in readers:
        r.join()
    for out in seen:
        assert out == sorted(set(out)) and out[-1] == 1999
