"""Footage settings: how much sampled video is kept on disk and how clips are cut."""

from __future__ import annotations

from pydantic import Field

from config.base import StrictModel


class StorageSettings(StrictModel):
    max_age_s: float = Field(3600.0, gt=0, description="footage older than this is deleted")
    max_bytes: int = Field(2 * 1024**3, gt=0, description="all cameras' footage together stays under this")
    camera_max_bytes: int = Field(512 * 1024**2, gt=0, description="one camera's footage stays under this")
    jpeg_quality: int = Field(80, ge=30, le=100, description="JPEG quality of stored frames")
    max_clip_s: float = Field(300.0, gt=0, le=3600, description="longest clip that may be exported")
    clip_pre_s: float = Field(5.0, ge=0, le=120, description="seconds before an alert included in its clip")
    clip_post_s: float = Field(5.0, ge=0, le=120, description="seconds after an alert included in its clip")
