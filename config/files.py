"""Durable writes shared by every part that keeps state under state_dir (outbox, rule state, KV chunks)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def write_atomic(path: Path, data: bytes, sync_dir: bool = False) -> None:
    """Write, fsync and rename: a reader (or a restart after a crash) sees the old content or the new, never a mix.

    sync_dir also fsyncs the directory, so that the rename itself survives a power loss."""
    # unique per thread: a save still running in a cancelled task's thread must not share the temp file
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    if sync_dir:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
