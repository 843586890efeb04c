"""Video sources: each opens one kind of camera and hands decoded pictures to its supervisor."""

from ingest.sources.base import Decoded, VideoSource, Wanted

__all__ = ["Decoded", "VideoSource", "Wanted"]
