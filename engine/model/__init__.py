"""The Video-XL-2 network: vision trunk, DTS, projector, Qwen2 language model, tokenizer and prompt ids."""

from engine.model.errors import CheckpointError, ModelInputError
from engine.model.loading import build_random, build_skeleton, checkpoint_shapes, load_model, save_model
from engine.model.network import VideoXL2
from engine.model.prompt import PromptIds
from engine.model.spec import FRAMES_PER_GROUP, ModelSpec, preset_spec

__all__ = [
    "FRAMES_PER_GROUP",
    "CheckpointError",
    "ModelInputError",
    "ModelSpec",
    "PromptIds",
    "VideoXL2",
    "build_random",
    "build_skeleton",
    "checkpoint_shapes",
    "load_model",
    "preset_spec",
    "save_model",
]
