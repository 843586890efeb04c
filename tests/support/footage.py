"""Real CCTV footage for tests: vtest.avi from Debian's opencv-doc (installed by scripts/system-deps.sh)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
VTEST_FPS = 10.0  # 795 frames, 768x576, a plaza filmed from an upper floor


def vtest_avi(scratch: Path) -> Path:
    """The video's path; Debian may ship it gzipped, then it is unpacked into `scratch` once."""
    if VTEST.is_file():
        return VTEST
    packed = VTEST.with_name(VTEST.name + ".gz")
    if packed.is_file():
        target = scratch / VTEST.name
        if not target.is_file():
            with gzip.open(packed, "rb") as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        return target
    pytest.fail(f"{VTEST} is missing: install Debian's opencv-doc (scripts/system-deps.sh does it)")
