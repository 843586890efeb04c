"""The intake's saved frames: a damaged file never stops a start; it is moved aside, not read, not deleted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from engine.intake_store import FILE_NAME, load_pending, save_pending
from engine.quarantine import quarantined


def frames(n: int) -> list[tuple[float, np.ndarray]]:
    rng = np.random.default_rng(n)
    return [(100.0 + i, rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)) for i in range(n)]


def flip_middle(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF  # inside an array's bytes: the zip CRC no longer matches
    return bytes(damaged)


def test_saved_frames_come_back_once(tmp_path: Path) -> None:
    saved = frames(3)
    save_pending(tmp_path, "line1", saved)
    back = load_pending(tmp_path)["line1"]
    assert [t for t, _ in back] == [t for t, _ in saved]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(back, saved, strict=True))
    assert load_pending(tmp_path) == {}


@pytest.mark.parametrize("damage", [flip_middle, lambda b: b[: len(b) // 2], lambda b: b"", lambda b: b"not a zip"],
                         ids=["flipped-byte", "torn", "empty", "garbage"])
def test_a_damaged_file_is_quarantined_and_the_start_goes_on(tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    save_pending(tmp_path, "line1", frames(3))
    save_pending(tmp_path, "line2", frames(2))
    path = tmp_path / "line1" / FILE_NAME
    path.write_bytes(damage(path.read_bytes()))
    loaded = load_pending(tmp_path)
    assert list(loaded) == ["line2"] and len(loaded["line2"]) == 2
    assert not path.exists() and [p.name.split(".npz")[0] for p in quarantined(tmp_path / "line1")] == ["intake"]
