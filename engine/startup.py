"""Checks of the engine settings against the loaded model, made once at start, before any frame is taken."""

from __future__ import annotations

from config.engine import EngineSettings
from engine.api import EngineError
from engine.positions import check_positions
from engine.protocols import StreamModel
from engine.session import SessionShape


def session_shape(settings: EngineSettings) -> SessionShape:
    return SessionShape(settings.chunk_groups, settings.window_chunks, settings.dense_chunks, settings.retention_s,
                        settings.fps, settings.prompt_time_period_s)


def check_engine(model: StreamModel, settings: EngineSettings) -> None:
    """EngineError when a setting cannot do what it says with this model (positions past its RoPE range; top-k
    read-back with no chunk files to read from; settings copied past their validators land here too)."""
    if settings.top_k > 0 and not settings.persist:
        raise EngineError(
            f"engine.top_k ({settings.top_k}) reads selected chunks back dense from the chunk files, and "
            "engine.persist is false: set engine.persist: true, or engine.top_k: 0"
        )
    check_positions(model, settings, session_shape(settings))
