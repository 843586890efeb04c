"""Every engine setting does what it says: top-k read-back is never idle, positions stay in the model's range,
prompt times stay in the trained range on a stream that runs for months."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.engine import EngineSettings
from engine.api import EngineError, YesNoAnswer
from engine.cache_dirs import camera_of, directory_name
from engine.client import EngineClient
from engine.model import VideoXL2
from engine.positions import budget, check_positions
from engine.session import StreamSession
from engine.startup import check_engine, session_shape
from ingest.frame import Frame
from tests.engine.stream_helpers import T0, frames, groups, shape

ODD_ID = "Dock 3/é"  # not a plain directory name
QUESTIONS = ["Is the door open?", "Is a truck at the dock?", "Is smoke visible?"]


def test_top_k_without_chunk_files_is_refused_with_the_keys_to_change() -> None:
    with pytest.raises(ValidationError, match=r"engine.top_k \(2\).*engine.persist: true, or engine.top_k: 0"):
        EngineSettings(persist=False)
    EngineSettings(persist=False, top_k=0)  # pooled chunks alone: said, not silent


def test_settings_copied_past_validation_are_refused_at_start(tiny_model: VideoXL2, tmp_path: Path) -> None:
    bypass = EngineSettings().model_copy(update={"persist": False})
    with pytest.raises(EngineError, match=r"engine\.persist is false"):
        check_engine(tiny_model, bypass)
    client = EngineClient(bypass, tmp_path, tiny_model)
    with pytest.raises(EngineError, match=r"engine\.top_k"):
        client.start()


def test_any_camera_id_gets_a_directory_that_decodes_back() -> None:
    for camera in ("dock-3", "Dock_3", ODD_ID, "a/../../b", "é" * 60):
        name = directory_name(camera)
        assert "/" not in name and len(name.encode()) <= 255 and camera_of(name) == camera
    assert directory_name("dock-3") == "dock-3" and directory_name(ODD_ID).startswith("=")
    assert camera_of("=zz") is None and camera_of("..") is None
    with pytest.raises(EngineError, match="shorter camera id"):
        directory_name("é" * 64)


async def _stream_and_ask(model: VideoXL2, state: Path, top_k: int) -> tuple[YesNoAnswer, int]:
    settings = EngineSettings(chunk_groups=2, window_chunks=1, dense_chunks=1, top_k=top_k, fps=1.0)
    client = EngineClient(settings, state, model)
    client.start()
    try:
        for i, image in enumerate(frames(64, seed=30)):
            client.submit(Frame.make(ODD_ID, i, float(i), T0 + i, image))
        for _ in range(6000):  # a guard against a hung engine, not a timing assertion
            status = client.status(ODD_ID)
            if status is not None and status.groups_encoded == 16:
                break
            await asyncio.sleep(0.005)
        answer = await client.ask_yes_no(ODD_ID, QUESTIONS)
    finally:
        client.stop()
    return answer, len(list((state / directory_name(ODD_ID)).glob("chunk-*.safetensors")))


async def test_top_k_reads_back_dense_for_a_camera_id_that_is_not_a_directory_name(
    tiny_model: VideoXL2, tmp_path: Path
) -> None:
    with_k, files = await _stream_and_ask(tiny_model, tmp_path / "k", top_k=2)
    without, _ = await _stream_and_ask(tiny_model, tmp_path / "zero", top_k=0)
    assert files == 8  # every chunk of the odd id is on disk, under its encoded directory
    assert with_k.model == tiny_model.identity and with_k.model is not None and not with_k.model.trained
    assert all(a != b for a, b in zip(with_k.p_yes, without.p_yes, strict=True))  # read-back changed the answers
    restarted = EngineClient(EngineSettings(chunk_groups=2, window_chunks=1, dense_chunks=1), tmp_path / "k",
                             tiny_model)
    restarted.start()
    try:
        for _ in range(6000):
            status = restarted.status(ODD_ID)
            if status is not None:
                break
            await asyncio.sleep(0.005)
        again = await restarted.ask_yes_no(ODD_ID, QUESTIONS)
    finally:
        restarted.stop()
    assert status is not None and status.chunks == 8
    assert again.p_yes == with_k.p_yes  # restored under its own id, answers as before


def test_positions_past_the_model_range_are_refused_at_start_with_the_numbers(tiny_model: VideoXL2) -> None:
    settings = EngineSettings(fps=8, retention_s=3600)
    with pytest.raises(EngineError, match=r"reaches position [\d,]+ .*max_position_embeddings 32,768.*retention_s"):
        check_engine(tiny_model, settings)
    check_engine(tiny_model, EngineSettings())  # the defaults fit


def test_the_position_budget_bounds_a_long_stream(tiny_model: VideoXL2) -> None:
    settings = EngineSettings(chunk_groups=2, window_chunks=1, dense_chunks=1, retention_s=60, top_k=0,
                              max_new_tokens=8, prompt_time_period_s=60)
    need = check_positions(tiny_model, settings, session_shape(settings))
    session = StreamSession("cam", tiny_model, session_shape(settings))
    highest = 0
    for i, g in enumerate(groups(tiny_model, 40, seed=31)):  # 160 s of video through a 60 s retention
        session.append([g])
        highest = max(highest, session.store.end_position() + session.open_chunk.tokens - 1)
        assert highest + need.answer <= need.largest, i
    assert need == budget(tiny_model, settings, session_shape(settings))


def test_prompt_times_wrap_at_the_period_and_stay_in_the_trained_range(tiny_model: VideoXL2) -> None:
    session = StreamSession("cam", tiny_model, shape(time_period_s=3600.0))
    session.epoch = T0
    day = 86400.0 * 90  # three months of streaming
    assert session.stream_time(T0 + 12.5) == 12.5
    assert session.stream_time(T0 + 3600.0) == 0.0
    assert session.stream_time(T0 + 3599.96) == 0.0  # rounds to the period: shown as 0.0, never 3600.0
    assert session.stream_time(T0 + day + 61.0) == 61.0
    assert all(0.0 <= session.stream_time(T0 + t * 7.3) < 3600.0 for t in range(0, 200_000, 97))
    with pytest.raises(ValidationError, match=r"prompt_time_period_s \(600\) must be at least engine.retention_s"):
        EngineSettings(retention_s=900, prompt_time_period_s=600)


async def _bytes_around_a_question(model: VideoXL2, state: Path, cached_views: int) -> tuple[int, int]:
    settings = EngineSettings(chunk_groups=2, window_chunks=1, dense_chunks=1, top_k=1, cached_views=cached_views)
    client = EngineClient(settings, state, model)
    client.start()
    try:
        for i, image in enumerate(frames(40, seed=32)):
            client.submit(Frame.make("dock", i, float(i), T0 + i, image))
        for _ in range(6000):  # a guard against a hung engine, not a timing assertion
            status = client.status("dock")
            if status is not None and status.groups_encoded == 10:
                break
            await asyncio.sleep(0.005)
        before = status.kv_bytes if status is not None else 0
        await client.ask_yes_no("dock", QUESTIONS)
        after = client.status("dock")
    finally:
        client.stop()
    return before, after.kv_bytes if after is not None else 0


async def test_a_cached_view_counts_in_kv_bytes_and_none_is_held_when_told(
    tiny_model: VideoXL2, tmp_path: Path
) -> None:
    before, after = await _bytes_around_a_question(tiny_model, tmp_path / "one", cached_views=1)
    assert after > before  # the view (and the dense copy read back) are the camera's memory too
    before, after = await _bytes_around_a_question(tiny_model, tmp_path / "none", cached_views=0)
    assert 0 < after - before < 0.5 * before  # only the dense copies of the selected chunks remain
