"""EngineClient.release: a camera that moves to another machine leaves this engine's memory, its cache stays on
disk, and the engine that takes the chunk files over continues the same stream (cluster mode's cache handover)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from config.engine import EngineSettings
from engine.api import EngineError
from engine.client import EngineClient
from engine.model import VideoXL2
from ingest.frame import Frame
from tests.engine.stream_helpers import T0, frames

SETTINGS = EngineSettings(chunk_groups=2, window_chunks=1, dense_chunks=1, persist=True, fps=1.0)


async def _stream(client: EngineClient, images: list[np.ndarray], first: int, seen_until: float) -> None:
    """Submit frames first, first+1, ... (1 s apart); wait until the cache has seen up to T0 + seen_until."""
    for i, image in enumerate(images, start=first):
        client.submit(Frame.make("dock", i, float(i), T0 + i, image))
    for _ in range(6000):  # a guard against a hung engine, not a timing assertion
        status = client.status("dock")
        if status is not None and status.seen is not None and status.seen.end >= T0 + seen_until:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the engine did not encode the frames")


async def test_released_camera_leaves_memory_and_its_files_continue_on_the_next_engine(
        tiny_model: VideoXL2, tmp_path: Path) -> None:
    images = frames(24, seed=3)
    old, new = EngineClient(SETTINGS, tmp_path / "a", tiny_model), EngineClient(SETTINGS, tmp_path / "b", tiny_model)
    old.start()
    try:
        await _stream(old, images[:14], 0, 11)  # 3 groups (frames 0-11): a sealed chunk of 2, an open one of 1
        before = await old.ask_yes_no("dock", ["Is the door open?"])
        await old.release("dock")
        assert old.status("dock") is None and "dock" not in old.cameras()
        with pytest.raises(EngineError, match="'dock'"):
            await old.ask_yes_no("dock", ["Is the door open?"])
    finally:
        old.stop()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "dock").rename(tmp_path / "b" / "dock")  # what cluster mode does on shared storage
    new.start()
    try:
        await _stream(new, images[16:], 16, 23)  # frames 16-23: two more groups on the restored stream
        after = await new.ask_yes_no("dock", ["Is the door open?"])
    finally:
        new.stop()
    assert after.seen.start == before.seen.start == T0  # the video seen before the move is still in the cache
    assert after.seen.end > before.seen.end


async def test_release_drops_what_still_waits_and_a_camera_never_seen_is_fine(
        tiny_model: VideoXL2, tmp_path: Path) -> None:
    client = EngineClient(SETTINGS, tmp_path, tiny_model)
    client.start()
    try:
        await client.release("never-seen")
        for i, image in enumerate(frames(3, seed=4)):  # 3 frames: a partial group waits in the intake
            client.submit(Frame.make("gate", i, float(i), T0 + i, image))
        await client.release("gate")
        assert "gate" not in client.cameras()
    finally:
        client.stop()
