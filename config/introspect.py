"""Walk the settings models along an error's location to say which keys are allowed there."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel


def allowed_keys(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the model that holds the last key of `loc` (empty if the walk gets lost)."""
    candidates: list[type[BaseModel]] = [root]
    for part in loc[:-1]:
        candidates = _step(candidates, part)
    return sorted(candidates[0].model_fields) if len(candidates) == 1 else []


def _step(candidates: list[type[BaseModel]], part: int | str) -> list[type[BaseModel]]:
    if isinstance(part, int):
        return candidates  # a list index: the element models were chosen by the previous step
    tagged = [c for c in candidates if _tag_of(c) == part]
    if tagged:
        return tagged  # a discriminated-union tag that pydantic leaves in the location
    return [m for c in candidates if part in c.model_fields for m in _models_in(c.model_fields[part].annotation)]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    return [a for a in _flatten(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]


def _flatten(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _flatten(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list):
        return [leaf for arg in typing.get_args(annotation) for leaf in _flatten(arg)]
    return [annotation]


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    return field.default if field is not None and isinstance(field.default, str) else None
