"""Numbers that arrive in a query string, checked before anything computes with them.

A float query value can be `nan`, `inf` or `1e306`, all valid to the parser; computing a frame index, a date or
a Redis stream id from them overflows (a 500) and echoing them in an error bloats the answer. Every such value is
checked here and refused with a 400 whose message names the parameter and the range, never the value.
"""

from __future__ import annotations

import math

from service.api.errors import BadRequest

LATEST_UNIX_S = 253402300800.0  # 10000-01-01T00:00:00Z: dates, Redis stream ids (ms) and file names stay valid


def unix_seconds(name: str, value: float) -> float:
    """`value` when it is a finite time between 1970 and the year 9999, else BadRequest."""
    if not (math.isfinite(value) and 0 <= value < LATEST_UNIX_S):
        raise BadRequest(f"{name} must be a finite number of Unix seconds between 0 and {LATEST_UNIX_S:.0f} "
                         "(the year 9999)")
    return value
