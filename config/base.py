"""The strict base every settings model derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Frozen, unknown keys refused; every field carries a description."""

    model_config = ConfigDict(extra="forbid", frozen=True)
