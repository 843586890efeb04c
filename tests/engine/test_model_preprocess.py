"""Frames reach the vision trunk exactly as the reference prepares them: PIL bicubic of the whole frame to S x S."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.intake import Intake
from engine.model.vision import preprocess_frames
from ingest.frame import Frame


def _detailed_frame(height: int, width: int, seed: int) -> np.ndarray:
    """Fine texture over gradients and hard edges: what makes a filter's differences show."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // width), (y * 255 // height), ((x // 7 + y // 5) % 2) * 255], axis=-1)
    noise = rng.integers(-40, 41, size=(height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _reference(bgr: np.ndarray, size: int) -> torch.Tensor:
    """The reference's path: RGB PIL image, resize to (size, size) with BICUBIC, rescale 1/255, mean/std 0.5."""
    rgb = Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))
    pixels = np.asarray(rgb.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32) / 255.0
    return torch.from_numpy(((pixels - 0.5) / 0.5).transpose(2, 0, 1).copy())


@pytest.mark.parametrize(("height", "width"), [(720, 1280), (1080, 1920), (480, 640)])
def test_preprocessing_equals_the_reference_on_real_sized_frames(height: int, width: int) -> None:
    frame = _detailed_frame(height, width, seed=height)
    assert torch.equal(preprocess_frames([frame], 384)[0], _reference(frame, 384))


def test_the_intake_resize_then_preprocessing_equals_the_reference() -> None:
    intake = Intake(fps=1.0, max_side=384)
    frames = [_detailed_frame(1080, 1920, seed=i) for i in range(4)]
    group = None
    for i, image in enumerate(frames):
        group = intake.add(Frame.make("cam", i, float(i), 1000.0 + i, image))
    assert group is not None and all(image.shape == (384, 384, 3) for image in group.images)
    pixels = preprocess_frames(list(group.images), 384)
    expected = torch.stack([_reference(frame, 384) for frame in frames])
    assert torch.equal(pixels, expected)
