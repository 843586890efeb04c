"""The strict base every settings model derives from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Frozen, unknown keys refused; every field carries a description."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _openable(value: Path) -> Path:
    """A path the operating system can be asked about; a NUL byte makes every file call raise ValueError."""
    if "\x00" in str(value):
        raise ValueError("holds a NUL byte (\\0), which no file name can contain; remove it")
    return value


FsPath = Annotated[Path, AfterValidator(_openable)]
"""A file-system path from the config: refused at load time if no file call could ever accept it."""
