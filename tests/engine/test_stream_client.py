"""EngineClient end to end on the real engine thread, and the scheduling and sampling policies on their own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from config.engine import EngineSettings
from engine.api import EngineError
from engine.client import EngineClient
from engine.intake import FpsSampler, Intake
from engine.model import VideoXL2
from engine.scheduler import GroupBatch, JobQueue
from engine.worker import EngineWorker
from ingest.frame import Frame
from tests.engine.stream_helpers import T0, FakeClock, frames
from tests.engine.stream_helpers import pending_group as _group


async def test_client_streams_answers_and_reports_status(tiny_model: VideoXL2, tmp_path: Path) -> None:
    settings = EngineSettings(chunk_groups=2, window_chunks=1, dense_chunks=1, persist=False, top_k=0, fps=1.0)
    client = EngineClient(settings, tmp_path, tiny_model)
    client.start()
    try:
        for i, image in enumerate(frames(80, seed=20)):  # 2 fps: every other frame is above the engine's fps
            client.submit(Frame.make("dock", i, i / 2, T0 + i / 2, image))
        for _ in range(6000):  # a guard against a hung engine, not a timing assertion
            status = client.status("dock")
            if status is not None and status.groups_encoded == 10:
                break
            await asyncio.sleep(0.005)
        yes = await client.ask_yes_no("dock", ["Is the door open?", "Is a truck at the dock?"])
        text = await client.ask_text("dock", "What happens?", max_tokens=3)
        recent = await client.ask_yes_no("dock", ["Is the door open?"], window_s=8.0)
    finally:
        client.stop()
    assert status is not None and (status.frames_in, status.groups_encoded, status.chunks) == (80, 10, 5)
    assert status.kv_tokens > 0 and status.kv_bytes > 0 and status.groups_dropped == 0
    assert len(yes.p_yes) == 2 and all(0.0 < p < 1.0 for p in yes.p_yes)
    assert (yes.seen.start, yes.seen.end) == (T0, T0 + 39.0)
    assert isinstance(text.text, str) and text.seen == yes.seen
    assert recent.seen.start > yes.seen.start
    assert client.cameras() == ["dock"]


async def test_asking_about_a_camera_without_video_is_an_engine_error(tiny_model: VideoXL2, tmp_path: Path) -> None:
    client = EngineClient(EngineSettings(persist=False, top_k=0), tmp_path, tiny_model)
    client.start()
    try:
        with pytest.raises(EngineError, match="'gate'"):
            await client.ask_yes_no("gate", ["Is the gate open?"])
    finally:
        client.stop()
    with pytest.raises(EngineError, match="stopped"):
        await client.ask_yes_no("gate", ["Is the gate open?"])


def test_questions_go_first_and_cameras_take_turns() -> None:
    queue = JobQueue(capacity=16, max_lag_s=30.0, clock=FakeClock())
    for i in range(3):
        queue.put_group(_group("busy", float(i)))
    queue.put_group(_group("quiet", 0.0))
    queue.put_question("question")
    order = [queue.take(max_groups=1, timeout=0) for _ in range(5)]
    assert order[0] == "question"
    assert [(b.camera_id, b.groups[0].t_first) for b in order[1:] if isinstance(b, GroupBatch)] == [
        ("busy", 0.0), ("quiet", 0.0), ("busy", 1.0), ("busy", 2.0)
    ]


def test_groups_that_waited_past_max_lag_are_dropped_whole_and_counted() -> None:
    clock = FakeClock()
    queue = JobQueue(capacity=16, max_lag_s=10.0, clock=clock)
    for i in range(4):
        queue.put_group(_group("cam", 4.0 * i, ready=4.0 * i))
    clock.now = 17.0  # the groups ready at 0 and 4 waited more than 10 s
    assert queue.lag_s("cam") == 17.0
    batch = queue.take(max_groups=4, timeout=0)
    assert isinstance(batch, GroupBatch) and [g.t_first for g in batch.groups] == [8.0, 12.0]
    assert queue.dropped[("cam", "lag")] == 2 and queue.lag_s("cam") == 0.0


def test_a_full_queue_drops_the_oldest_group_of_the_busiest_camera() -> None:
    queue = JobQueue(capacity=3, max_lag_s=30.0, clock=FakeClock())
    for i in range(2):
        queue.put_group(_group("busy", float(i)))
    queue.put_group(_group("quiet", 0.0))
    dropped = queue.put_group(_group("quiet", 1.0))
    assert [(g.camera_id, g.t_first) for g in dropped] == [("busy", 0.0)]
    assert queue.dropped_for("busy") == 1 and queue.depth("busy") + queue.depth("quiet") == 3


def test_the_sampler_keeps_one_frame_per_period_despite_jitter() -> None:
    fast = FpsSampler(1.0)
    kept = [float(t) for t in np.arange(0.0, 20.0, 0.04) if fast.keep(float(t))]  # a 25 fps camera
    gaps = np.diff(kept)
    assert len(kept) == 21 and gaps.min() >= 0.9 and gaps.max() <= 1.0 + 1e-9  # on the 1 s grid, never drifting
    jittery = FpsSampler(1.0)
    assert all(jittery.keep(t) for t in (0.0, 1.05, 1.97, 3.02, 3.96))
    assert not jittery.keep(4.5)


def test_intake_groups_four_kept_frames_resized_to_the_model_input() -> None:
    intake = Intake(fps=1.0, max_side=72)
    image = np.zeros((360, 640, 3), dtype=np.uint8)
    out = [intake.add(Frame.make("cam", i, i / 2, T0 + i / 2, image)) for i in range(8)]
    done = [g for g in out if g is not None]
    assert len(done) == 1 and done[0].images[0].shape == (72, 72, 3)
    assert (done[0].t_first, done[0].t_last) == (T0, T0 + 3.0)
    assert intake.counts("cam") == (8, 4)


async def test_a_burst_beyond_the_queue_drops_whole_groups_and_accounts_for_each(
    tiny_model: VideoXL2, tmp_path: Path
) -> None:
    settings = EngineSettings(queue_size=8, chunk_groups=2, window_chunks=1, dense_chunks=1, persist=False, top_k=0)
    client = EngineClient(settings, tmp_path, tiny_model)
    client.start()
    images = frames(4, seed=21)
    try:
        for i in range(400):  # 100 groups per camera, submitted far faster than the engine encodes them
            for cam in ("a", "b"):
                client.submit(Frame.make(cam, i, float(i), T0 + i, images[i % 4]))
    finally:
        client.stop()  # drains what the queue still holds
    for cam in ("a", "b"):
        status = client.status(cam)
        assert status is not None and status.groups_dropped > 0
        assert status.groups_encoded + status.groups_dropped == 100
        assert status.kv_tokens > 0 and status.lag_s == 0.0


def test_settings_refuse_a_prefill_window_larger_than_the_dense_set() -> None:
    with pytest.raises(ValueError, match="window_chunks"):
        EngineSettings(window_chunks=4, dense_chunks=3)


async def test_a_dead_engine_thread_refuses_questions_instead_of_leaving_them_hanging(
        tiny_model: VideoXL2, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_disk(self: EngineWorker) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(EngineWorker, "_restore_all", broken_disk)
    client = EngineClient(EngineSettings(persist=True), tmp_path, tiny_model)
    client.start()
    try:
        with pytest.raises(EngineError):  # whether the question got in before the thread died or after
            await asyncio.wait_for(client.ask_yes_no("line1", ["Is the belt moving?"]), 30)
        await asyncio.wait_for(client.drained("line1"), 30)
    finally:
        client.stop()
