"""Chunk files whose manifest or tensors changed are quarantined one by one, never deleted, never loaded; one bad
file never costs a good one, and the hole it leaves shows in `seen`, the camera's status and a metric."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from prometheus_client import REGISTRY

from config.engine import EngineSettings
from engine.api import Gap
from engine.client import EngineClient
from engine.gaps import seen_of
from engine.model import VideoXL2
from engine.persist import ChunkFiles, Restored
from engine.quarantine import MAX_FILES, quarantine, quarantined
from engine.session import StreamSession
from ingest.frame import Frame
from tests.engine.stream_helpers import T0, frames, shape, streamed

CFG: dict[str, float] = {"chunk_groups": 2, "window": 1}


def files(model: VideoXL2, root: Path) -> ChunkFiles:
    return ChunkFiles(root, "cam", model.spec.fingerprint, torch.device("cpu"))


def edit_manifest(path: Path, key: str, change: object) -> None:
    """Rewrite one manifest field in place (the checksum is left as it was, as a corruption or a hand edit would)."""
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    meta = header["__metadata__"]
    meta[key] = change(meta[key]) if callable(change) else change
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + size :])


def bump_digit(value: str) -> str:
    """Change the last digit of a number as text: one digit, as in the field report."""
    i = max(i for i, ch in enumerate(value) if ch.isdigit())
    return value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1 :]


def quarantine_reasons(root: Path) -> dict[str, str]:
    """Quarantined file's original name -> its reason."""
    out = {}
    for moved in quarantined(root):
        out[moved.name.rsplit(".", 1)[0]] = moved.with_name(moved.name + ".reason.txt").read_text().strip()
    return out


EDITS = {
    "epoch": bump_digit,
    "t_first": bump_digit,
    "t_last": bump_digit,
    "ts_lens": lambda v: json.dumps([n + 1 for n in json.loads(v)]),
    "sealed": lambda v: "0" if v == "1" else "1",
    "groups_encoded": bump_digit,
}


@pytest.mark.parametrize("key", sorted(EDITS))
@pytest.mark.parametrize("which", ["newest", "middle"])
def test_a_changed_manifest_field_quarantines_that_file_alone(tiny_model: VideoXL2, tmp_path: Path, key: str,
                                                              which: str) -> None:
    streamed(tiny_model, 16, sink=files(tiny_model, tmp_path), **CFG)  # 8 sealed chunks, as in the field report
    seq = 7 if which == "newest" else 3
    edit_manifest(files(tiny_model, tmp_path).path(seq), key, EDITS[key])
    restored = files(tiny_model, tmp_path).restore()
    assert restored is not None and restored.open is None
    assert [r.seq for r in restored.sealed] == [s for s in range(8) if s != seq]
    reasons = quarantine_reasons(tmp_path)
    name = files(tiny_model, tmp_path).path(seq).name
    assert list(reasons) == [name] and "checksum" in reasons[name]
    expected_gaps = 1 if which == "middle" else 0
    seen = seen_of(restored.sealed)
    assert seen is not None and len(seen.gaps) == expected_gaps


def test_files_of_another_epoch_are_quarantined_and_the_majority_is_kept(tiny_model: VideoXL2,
                                                                          tmp_path: Path) -> None:
    session = streamed(tiny_model, 16, sink=files(tiny_model, tmp_path), **CFG)
    newest = session.store.records[-1]
    files(tiny_model, tmp_path).write(newest, epoch=123.0)  # a valid file, but of another stream
    restored = files(tiny_model, tmp_path).restore()
    assert restored is not None and [r.seq for r in restored.sealed] == list(range(7))
    assert restored.epoch == session.epoch
    reasons = quarantine_reasons(tmp_path)
    assert list(reasons) == ["chunk-000000007.safetensors"] and "epoch 123.0" in reasons["chunk-000000007.safetensors"]


def test_a_corrupt_middle_chunk_leaves_a_visible_hole_in_the_restored_session(tiny_model: VideoXL2,
                                                                              tmp_path: Path) -> None:
    streamed(tiny_model, 12, sink=files(tiny_model, tmp_path), **CFG)
    path = files(tiny_model, tmp_path).path(2)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    restored = files(tiny_model, tmp_path).restore()
    assert isinstance(restored, Restored)
    session = StreamSession("cam", tiny_model, shape(**CFG), files(tiny_model, tmp_path), restored)
    one, three = session.store.records[1], session.store.records[2]
    seen = session.seen()
    assert seen is not None and seen.gaps == (Gap(one.t_last, three.t_first, 1),)
    assert (one.seq, three.seq) == (1, 3) and restored.groups_encoded == 12
    assert session.groups_encoded == 12  # the stream's count survives the restart
    assert len(quarantined(tmp_path)) == 1 and not path.exists()
    counted = REGISTRY.get_sample_value("vigil_engine_chunks_quarantined_total", {"camera_id": "cam"})
    assert counted is not None and counted >= 1


SETTINGS = EngineSettings(chunk_groups=2, window_chunks=1, dense_chunks=1, top_k=1, retention_s=3600.0)


def submit(client: EngineClient, first: int, n: int) -> None:
    for i, image in enumerate(frames(n, seed=first)):
        client.submit(Frame.make("cam", first + i, float(first + i), T0 + first + i, image))


async def until(probe: Callable[[], bool]) -> None:
    for _ in range(6000):  # a guard against a hung engine, not a timing assertion
        if probe():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the engine never got there")


def encoded(client: EngineClient, groups: int) -> Callable[[], bool]:
    def probe() -> bool:
        status = client.status("cam")
        return status is not None and status.groups_encoded >= groups
    return probe


async def test_a_restart_keeps_the_group_count_the_waiting_frames_and_shows_the_hole(tiny_model: VideoXL2,
                                                                                      tmp_path: Path) -> None:
    client = EngineClient(SETTINGS, tmp_path, tiny_model)
    client.start()
    try:
        submit(client, 0, 27)  # 6 groups (3 sealed chunks) and 3 frames waiting in the intake for a 7th
        await until(encoded(client, 6))
    finally:
        client.stop()
    path = files(tiny_model, tmp_path / "cam").path(1)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # chunk 1 (groups 2-3) is corrupt on disk
    path.write_bytes(bytes(data))

    again = EngineClient(SETTINGS, tmp_path, tiny_model)
    again.start()
    try:
        await until(lambda: again.status("cam") is not None)
        status = again.status("cam")
        assert status is not None and status.groups_encoded == 6
        submit(again, 27, 1)  # with the 3 frames saved at stop, this one completes group 7
        await until(encoded(again, 7))
        answer = await again.ask_yes_no("cam", ["Is the belt stopped?"])
        status = again.status("cam")
    finally:
        again.stop()
    gap = Gap(T0 + 7, T0 + 16, 1)  # chunk 0 ends with frame 7, chunk 2 starts with frame 16
    assert answer.seen.gaps == (gap,) and status is not None and status.seen is not None
    assert status.seen.gaps == (gap,) and status.seen.end == T0 + 27  # the 7th group ends with the new frame
    assert REGISTRY.get_sample_value("vigil_engine_cache_gap_chunks", {"camera_id": "cam"}) == 1


def test_the_quarantine_is_bounded_oldest_out(tmp_path: Path) -> None:
    for i in range(MAX_FILES + 3):
        path = tmp_path / f"chunk-{i:09d}.safetensors"
        path.write_bytes(b"x")
        quarantine(path, "cam", f"test {i}")
    kept = quarantined(tmp_path)
    assert len(kept) == MAX_FILES
    assert [p.name.split(".")[0] for p in kept] == [f"chunk-{i:09d}" for i in range(3, MAX_FILES + 3)]
    assert all(p.with_name(p.name + ".reason.txt").exists() for p in kept)
