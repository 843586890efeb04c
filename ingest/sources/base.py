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


@dataclass(frozen=True, slots=True)
class FileEnding:
    """How a file played once ended: how far it got against what its container states, and the clock jumps.

    A file whose index promises more than its data holds (a recording cut off mid-write, a half-copied file)
    ends early; `missing_s` says how much. A gap shorter than TRUNCATION_SLACK_S, or three frame intervals,
    is rounding between the index and the last frame and is not reported. When the clock jumped, the stated
    duration (for MPEG-TS, the span of timestamps) measures nothing and no shortfall is claimed.
    """

    read_s: float  # time of the last frame, seconds since the first (on the monotonic timeline)
    stated_s: float | None  # the duration the container states; None when it states none
    interval_s: float  # the stream's frame interval, seconds
    jumps: int = 0  # timestamp jumps re-based on the way (ingest.sources.timeline)

    @property
    def missing_s(self) -> float:
        """Seconds the container states but the data did not hold (0 when it held all)."""
        if self.stated_s is None or self.jumps:
            return 0.0
        missing = self.stated_s - self.read_s
        return missing if missing > max(TRUNCATION_SLACK_S, 3 * self.interval_s) else 0.0

    @property
    def truncated(self) -> bool:
        return self.missing_s > 0

    def describe(self) -> str:
        if not self.truncated:
            return f"read {self.read_s:.1f} s of video"
        assert self.stated_s is not None
        return (f"the file ends at {self.read_s:.1f} s of the {self.stated_s:.1f} s its index states: "
                f"{self.missing_s:.1f} s missing (truncated or damaged file)")


TRUNCATION_SLACK_S = 1.0
