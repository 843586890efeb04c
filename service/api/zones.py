"""The zone editor's check: POST /api/cameras/{id}/zone turns a drawn region into a validated rule snippet."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from service.api import zone_yaml
from service.api.deps import Camera, Ctx
from service.api.errors import BadRequest
from service.api.schemas import Wire

router = APIRouter(prefix="/api/cameras", tags=["zones"])
Coordinate = Annotated[float, Field(allow_inf_nan=False, ge=-1, le=2)]  # outside 0..1 is reported by the check
Component = Annotated[float, Field(allow_inf_nan=False, ge=-1e6, le=1e6)]


class ZoneRequest(Wire):
    condition: str = Field(max_length=40, description="a condition type that takes a region (GET /api/info)")
    region: list[tuple[Coordinate, Coordinate]] = Field(min_length=2, max_length=64,
                                                        description="normalised [x, y] points, 0..1, top-left 0")
    direction: tuple[Component, Component] | None = Field(None, description="[dx, dy] in image axes, y down")
    rule_id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="default: camera-type")


class ZoneView(Wire):
    yaml: str = Field(description="the rule to paste under `rules:`")
    valid: bool = Field(description="vigil check-config accepts it")
    issues: list[str] = Field(description="what check-config reports, by key path")
    notes: list[str] = Field(description="warnings that do not make it invalid")


@router.post("/{camera_id}/zone", response_model=ZoneView,
             responses={400: {"description": "a condition type that takes no region"},
                        404: {"description": "unknown camera"}})
async def zone(ctx: Ctx, camera: Camera, body: ZoneRequest) -> ZoneView:
    """The YAML of a rule over the drawn region, and whether `vigil check-config` accepts it."""
    kinds = zone_yaml.region_conditions()
    if body.condition not in kinds:
        raise BadRequest(f"condition {body.condition[:40]!r} takes no region; one of: {', '.join(sorted(kinds))}")
    direction = body.direction if kinds[body.condition] else None
    rule_id = body.rule_id or f"{camera.id}-{body.condition}"[:63]
    text = zone_yaml.snippet(rule_id, camera.id, zone_yaml.condition(body.condition, list(body.region), direction))
    issues = await asyncio.to_thread(zone_yaml.check, camera.id, text)
    taken = any(rule.id == rule_id for rule in ctx.settings.rules)
    notes = [f"a rule with id {rule_id!r} exists already; rename one of them"] if taken else []
    return ZoneView(yaml=text, valid=not issues, issues=issues, notes=notes)
