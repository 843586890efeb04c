"""The reference's frame resize: the whole frame to exactly S x S with PIL's bicubic filter (antialiased when
shrinking), no crop, aspect ratio not kept (reference §1.3: SigLIP's image processor, PIL backend, BICUBIC).

OpenCV's INTER_CUBIC does not widen its kernel when shrinking, and an area pre-shrink changes the input again:
together 2-3 grey levels of mean difference on 720p frames, ~10 on detailed 1080p (issue 15), so both the engine's
intake and the model's preprocessing use this function. PIL filters each channel on its own, so BGR frames resize
as they are; a frame already S x S passes through unchanged (PIL returns a copy), which is what lets the intake
resize once and the model's preprocessing take the result as it is.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image


def reference_resize(image: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.uint8]:
    """[H, W, 3] uint8 (any channel order) -> [size, size, 3] uint8, PIL bicubic."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    resized = Image.fromarray(np.ascontiguousarray(image)).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.uint8)
