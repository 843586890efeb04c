"""Errors of the model half of the engine: a checkpoint that cannot be used, input the model cannot take."""

from __future__ import annotations

from engine.api import EngineError


class CheckpointError(EngineError):
    """A checkpoint directory is missing, broken, or does not match the model it should fill."""


class ModelInputError(EngineError):
    """Frames or pixels handed to the model have the wrong shape, type or count."""
