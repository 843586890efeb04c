"""Holes in a camera's retained video: where consecutive chunks skip a sequence number.

Chunk sequence numbers increase by one per sealed chunk and retention only ever drops the oldest, so a skipped
number inside the retained range is a chunk that was refused on restore (quarantined) or lost: the video between
its neighbours was never seen by a question, and the question's `seen` says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from engine.api import Gap, TimeRange
from engine.records import ChunkRecord


def gaps_in(records: Sequence[ChunkRecord]) -> tuple[Gap, ...]:
    """The holes between consecutive records (oldest first)."""
    return tuple(Gap(a.t_last, b.t_first, b.seq - a.seq - 1)
                 for a, b in itertools.pairwise(records) if b.seq > a.seq + 1)


def seen_of(records: Sequence[ChunkRecord]) -> TimeRange | None:
    """The time range the records cover, with the holes inside it; None for no records."""
    if not records:
        return None
    return TimeRange(records[0].t_first, records[-1].t_last, gaps_in(records))
