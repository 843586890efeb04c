"""The counters a source reports into; the camera's stats implement them."""

from __future__ import annotations

from typing import Protocol


class SourceCounters(Protocol):
    def frame_in(self) -> None:
        """One frame arrived from the camera (decoded or not)."""
        ...

    def drop(self, reason: str, count: int = 1) -> None:
        """Frames lost before sampling, by reason (not_decoded, decode_error, queue_full, ...)."""
        ...
