"""Engine fixtures: the tiny model, built once per test session (random weights from seed 0)."""

from __future__ import annotations

import pytest
import torch

from engine.model import VideoXL2, load_model


@pytest.fixture(scope="session")
def tiny_model() -> VideoXL2:
    torch.set_num_threads(1)
    return load_model("tiny", seed=0)
