"""Video-XL-2's state-dict key names <-> the names of our modules, and the keys known to be unused."""

from __future__ import annotations

import re

# (our prefix, checkpoint prefix); longest checkpoint prefix first so `model.sae.` wins over `model.`.
_PREFIXES = (
    ("vision.siglip.", "model.vision_tower.vision_tower.vision_model."),
    ("dts.", "model.sae."),
    ("projector.", "model.mm_projector."),
    ("lm.model.", "model."),
    ("lm.lm_head.", "lm_head."),
)
_VISION = "model.vision_tower.vision_tower.vision_model."
_VISION_LAYER = re.compile(re.escape(_VISION) + r"encoder\.layers\.(\d+)\.")


def to_checkpoint(name: str) -> str:
    for ours, theirs in _PREFIXES:
        if name.startswith(ours):
            return theirs + name[len(ours):]
    raise KeyError(f"parameter {name!r} has no Video-XL-2 name")


def from_checkpoint(key: str) -> str | None:
    """Our name for a checkpoint key, or None when no module of ours could hold it."""
    for ours, theirs in sorted(_PREFIXES, key=lambda pair: -len(pair[1])):
        if key.startswith(theirs):
            return ours + key[len(theirs):]
    return None


def unused_reason(key: str, vision_layers: int) -> str | None:
    """Why a checkpoint key may be skipped without harm, or None when it must match a parameter."""
    if key.startswith("model.text_mlp."):
        return "text_mlp exists only in the eval tree and is never called"
    if key.startswith(_VISION + "head."):
        return "the SigLIP pooling head is replaced by identity"
    if key == "model.image_newline":
        return "image_newline is used only by 'unpad' patch merging, not on the video path"
    layer = _VISION_LAYER.match(key)
    if layer and int(layer.group(1)) >= vision_layers:
        return f"SigLIP layer {layer.group(1)} is dropped (features come from layer {vision_layers - 1})"
    return None
