"""Which directory holds a camera's chunk files: any camera id gets one, so its dense tier always exists on disk.

An id made only of letters, digits, '-' and '_' is its own directory name (what config/cameras.py allows). Any other
id is written as '=' followed by the hex of its UTF-8 bytes: '=' never starts a plain name, so the two never collide,
and the name decodes back to the id when the cache is restored.
"""

from __future__ import annotations

import re

from engine.api import EngineError

_PLAIN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_ENCODED = re.compile(r"^=([0-9a-f]{2}){1,127}$")
MAX_ID_BYTES = 127  # '=' + 254 hex digits: a directory name stays within the usual 255-byte limit


def directory_name(camera_id: str) -> str:
    """The directory of `camera_id`'s chunk files; EngineError for an id longer than MAX_ID_BYTES in UTF-8."""
    if _PLAIN.match(camera_id):
        return camera_id
    raw = camera_id.encode("utf-8")
    if not raw or len(raw) > MAX_ID_BYTES:
        raise EngineError(
            f"camera id {camera_id[:40]!r}... is {len(raw)} bytes in UTF-8: its chunk files need an id of 1 to "
            f"{MAX_ID_BYTES} bytes; use a shorter camera id"
        )
    return "=" + raw.hex()


def camera_of(name: str) -> str | None:
    """The camera id a directory name stands for, or None if the directory is not one of ours."""
    if _PLAIN.match(name):
        return name
    if _ENCODED.match(name):
        try:
            return bytes.fromhex(name[1:]).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None
