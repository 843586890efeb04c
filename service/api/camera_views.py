"""Builds what the API shows about a camera from the parts' own status objects (no state of its own)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from config.cameras import CameraSettings
from config.errors import VigilError
from config.rules import RuleSettings
from engine.api import EngineCameraStatus
from ingest.stats import IngestStats
from ingest.status import CameraState
from service.api.schemas import CameraView, EngineView, RuleView, TimeRangeView
from service.context import ServiceContext

Badge = Literal["streaming", "stalled", "offline"]
BADGES: dict[str, Badge] = {CameraState.STREAMING.value: "streaming", CameraState.STALLED.value: "stalled"}


def camera_view(ctx: ServiceContext, camera: CameraSettings) -> CameraView:
    stats, reason = _stats(ctx, camera)
    state = stats.state if stats is not None else ("disabled" if not camera.enabled else "unknown")
    return CameraView(
        id=camera.id, name=camera.name or camera.id, enabled=camera.enabled, source=camera.source.type,
        state=state, badge=BADGES.get(state, "offline"), reason=stats.reason if stats is not None else reason,
        fps=stats.sampled_fps if stats is not None else None,
        last_frame_t=stats.last_frame_t if stats is not None else None,
        engine=_engine_view(ctx, camera.id), stats=_plain(stats), rules=rule_views(ctx, camera.id),
    )


def _stats(ctx: ServiceContext, camera: CameraSettings) -> tuple[IngestStats | None, str]:
    if not camera.enabled:
        return None, "camera.enabled is false"
    try:
        return ctx.ingest.stats(camera.id), ""
    except (VigilError, LookupError) as exc:  # one camera's failing status must not hide the others
        return None, str(exc)


def _plain(stats: IngestStats | None) -> dict[str, Any]:
    return dataclasses.asdict(stats) if stats is not None else {}


def _engine_view(ctx: ServiceContext, camera_id: str) -> EngineView | None:
    status: EngineCameraStatus | None = ctx.engine.status(camera_id) if ctx.engine is not None else None
    if status is None:
        return None
    seen = TimeRangeView.of(status.seen) if status.seen is not None else None
    return EngineView(lag_s=status.lag_s, kv_tokens=status.kv_tokens, kv_bytes=status.kv_bytes, chunks=status.chunks,
                      frames_in=status.frames_in, groups_dropped=status.groups_dropped, seen=seen,
                      gaps=seen.gaps if seen is not None else [])


def rule_views(ctx: ServiceContext, camera_id: str) -> list[RuleView]:
    return [_rule_view(rule) for rule in ctx.settings.rules_for(camera_id)]


def _rule_view(rule: RuleSettings) -> RuleView:
    condition = rule.condition
    question = condition.text if condition.type == "question" else None
    region = getattr(condition, "region", None)  # every condition type with a drawn region has these names
    direction = getattr(condition, "direction", None)
    return RuleView(id=rule.id, kind=condition.type, severity=rule.severity, question=question,
                    threshold=rule.threshold, region=region, direction=direction)
