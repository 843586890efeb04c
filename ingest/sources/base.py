"""What every source gives its supervisor: decoded pictures whose pixels are produced only when kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Wanted = Callable[[float], bool]  # the sampler's "would a frame at t be kept?", asked before decoding
POLL_S = 0.5  # sources that wait on a queue or a clock return at least this often, so the watchdog can run


@dataclass(frozen=True, slots=True)
class Decoded:
    """One picture from a source. `pixels()` converts to BGR; it is called only for frames the sampler keeps."""

    t_media: float  # seconds on the source's own clock (stream pts, file time, scene time); only differences matter
    t_wall: float  # Unix seconds the frame is shown at
    t_mono: float  # monotonic seconds on the same timeline as t_wall
    pixels: Callable[[], Image]  # [H, W, 3] uint8 BGR


class VideoSource(Protocol):
    """A camera's connection, used by exactly one supervisor thread: open, read until failure or end, close."""

    @property
    def first_frame_timeout_s(self) -> float:
        """Seconds allowed from the start of open() to the first frame before the attempt fails."""
        ...

    def open(self) -> None:
        """Connect; raise SourceError with a reason an operator can act on."""
        ...

    def read(self, wanted: Wanted) -> Decoded | None:
        """The next picture; None when none arrived yet (return at least every POLL_S where the source can).

        Raises SourceError on failure and SourceEnded at the end of a finite source.
        """
        ...

    def close(self) -> None:
        """Release the connection; safe to call twice or after a failed open."""
        ...
