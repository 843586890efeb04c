"""Ingest's exception tree: every message names the camera, the (redacted) URL or the key, and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from config.errors import VigilError

if TYPE_CHECKING:
    from ingest.sources.base import FileEnding


class IngestError(VigilError):
    """Base of the errors raised by ingest/."""


class SourceError(IngestError):
    """A source could not be opened or stopped delivering frames; the supervisor retries after a backoff."""


class SourceEnded(IngestError):
    """A finite source (a file played once) reached its end; the camera stops instead of retrying.

    `ending` says how far a file got against its stated duration (None for sources that state none).
    """

    def __init__(self, message: str, ending: FileEnding | None = None) -> None:
        super().__init__(message)
        self.ending = ending


class UnknownCamera(IngestError, LookupError):
    """No enabled camera has this id (or it is not of the kind asked for)."""


class BadOffer(IngestError):
    """A WHIP publisher sent an SDP offer that cannot be answered."""


class FootageError(IngestError):
    """Base of footage errors: snapshots, clips, writes."""


class NotRetained(FootageError, LookupError):
    """The footage asked for was never stored or has already been deleted by retention."""


class InvalidRange(FootageError, ValueError):
    """A clip range that is inverted, empty or not finite."""


class ClipTooLong(InvalidRange):
    """A clip range longer than storage.max_clip_s."""


class FootageWriteError(FootageError):
    """A sampled frame could not be stored (disk error or a frame larger than the budget)."""
