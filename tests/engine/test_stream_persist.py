"""Persistence: a restarted engine answers exactly as before; corrupt, torn and foreign files are refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import torch
from structlog.testing import capture_logs

from config.engine import EngineSettings
from engine.client import EngineClient
from engine.model import VideoXL2
from engine.persist import ChunkFiles
from engine.quarantine import quarantined
from engine.session import StreamSession
from ingest.frame import Frame
from tests.engine.stream_helpers import T0, frames, shape, streamed

QUESTIONS = ["Is the belt stopped?", "Is someone there?"]
SETTINGS = EngineSettings(chunk_groups=2, window_chunks=1, dense_chunks=1, top_k=1, retention_s=3600.0)


async def _run_engine(model: VideoXL2, state: Path, n_frames: int, first: int = 0) -> tuple[list[float], str, int]:
    """Start an engine on `state`, stream frames [first, first + n_frames), ask, stop; answers and chunks held."""
    client = EngineClient(SETTINGS, state, model)
    client.start()
    try:
        for i, image in enumerate(frames(n_frames, seed=first)):
            client.submit(Frame.make("cam", first + i, float(first + i), T0 + first + i, image))
        await _until_encoded(client, "cam", (first + n_frames) // 4)  # groups_encoded survives a restart
        p = (await client.ask_yes_no("cam", QUESTIONS)).p_yes
        text = (await client.ask_text("cam", QUESTIONS[0], max_tokens=5)).text
        status = client.status("cam")
        assert status is not None
        return list(p), text, status.chunks
    finally:
        client.stop()


async def _until_encoded(client: EngineClient, camera: str, groups: int) -> None:
    for _ in range(6000):  # a guard against a hung engine, not a timing assertion
        status = client.status(camera)
        if status is not None and status.groups_encoded + status.groups_dropped >= groups:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"engine did not encode {groups} groups for {camera}")


async def test_a_restarted_engine_answers_exactly_as_the_old_one(tiny_model: VideoXL2, tmp_path: Path) -> None:
    before = await _run_engine(tiny_model, tmp_path, 28)  # 7 groups: 3 sealed chunks and an open one
    files = sorted((tmp_path / "cam").glob("chunk-*.safetensors"))
    assert len(files) == 4
    after = await _run_engine(tiny_model, tmp_path, 0, first=28)  # restore only, no new frames
    assert after == before


async def test_a_restored_stream_continues_where_it_stopped(tiny_model: VideoXL2, tmp_path: Path) -> None:
    await _run_engine(tiny_model, tmp_path, 12)
    _, _, chunks = await _run_engine(tiny_model, tmp_path, 8, first=12)  # 5 groups in all at 2 per chunk
    assert chunks == 2
    seqs = sorted(p.name for p in (tmp_path / "cam").glob("chunk-*.safetensors"))
    assert seqs == [f"chunk-{i:09d}.safetensors" for i in range(3)]


def _files(model: VideoXL2, root: Path, fingerprint: str | None = None) -> ChunkFiles:
    return ChunkFiles(root, "cam", fingerprint or model.spec.fingerprint, torch.device("cpu"))


def test_a_corrupt_or_torn_chunk_file_is_quarantined_with_a_warning(tiny_model: VideoXL2, tmp_path: Path) -> None:
    streamed(tiny_model, 8, sink=_files(tiny_model, tmp_path), chunk_groups=2, window=1)
    flipped, torn = _files(tiny_model, tmp_path).path(1), _files(tiny_model, tmp_path).path(2)
    data = bytearray(flipped.read_bytes())
    data[-10] ^= 0xFF  # one bit pattern inside the tensor data
    flipped.write_bytes(bytes(data))
    torn.write_bytes(torn.read_bytes()[:200])
    with capture_logs() as logs:
        restored = _files(tiny_model, tmp_path).restore()
    assert restored is not None and [r.seq for r in restored.sealed] == [0, 3]
    reasons = [e["reason"] for e in logs if e["event"] == "engine.chunk_file_quarantined"]
    assert len(reasons) == 2 and "checksum" in reasons[0] and "torn" in reasons[1]
    assert not flipped.exists() and not torn.exists()
    moved = quarantined(tmp_path)  # the evidence is kept, each file with its reason beside it
    assert [p.name.rsplit(".", 1)[0] for p in moved] == [flipped.name, torn.name]
    assert "checksum" in moved[0].with_name(moved[0].name + ".reason.txt").read_text()


def test_chunks_of_another_model_are_refused_never_loaded(tiny_model: VideoXL2, tmp_path: Path) -> None:
    streamed(tiny_model, 6, sink=_files(tiny_model, tmp_path, "0123456789abcdef"), chunk_groups=2, window=1)
    with capture_logs() as logs:
        restored = _files(tiny_model, tmp_path).restore()
    assert restored is None
    refused = [e for e in logs if e["event"] == "engine.chunk_file_quarantined"]
    assert len(refused) == 3 and all("0123456789abcdef" in e["reason"] for e in refused)
    assert len(quarantined(tmp_path)) == 3
    session = StreamSession("cam", tiny_model, shape(chunk_groups=2, window=1), None, restored)
    assert len(session.store) == 0 and session.epoch is None


def test_disk_use_follows_the_retention_window(tiny_model: VideoXL2, tmp_path: Path) -> None:
    cfg = {"chunk_groups": 2, "window": 1, "dense_chunks": 1, "retention_s": 20.0}
    session = streamed(tiny_model, 20, sink=_files(tiny_model, tmp_path), **cfg)
    on_disk = sorted(int(p.stem.split("-")[1]) for p in tmp_path.glob("chunk-*.safetensors"))
    assert on_disk == [rec.seq for rec in session.store.records]
    assert len(on_disk) <= shape(**cfg).max_chunks
