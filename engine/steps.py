"""Work that yields between its pieces: a generator the engine thread can pause to answer questions in between.

A stepwise computation is a `Generator[None, None, T]`: each `yield` marks a point where nothing shared has been
changed yet, so the caller may run other work (a question on another view) and resume it later; the generator's
return value is the result. `drain` runs one to the end when no pause is wanted.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TypeVar

T = TypeVar("T")

Steps = Generator[None, None, T]


def drain(steps: Steps[T]) -> T:
    """Run a stepwise computation to its end and return its result."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: T = done.value
            return result
