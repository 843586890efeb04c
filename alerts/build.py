"""From a state-machine transition to the AlertEvent on the wire."""

from __future__ import annotations

from alerts.detectors.presence import PeopleSeen
from alerts.event import AlertEvent, ClipRange, ModelInfo, PeopleWire, PersonBoxWire, SnapshotRef, iso
from alerts.state import Transition
from config.rules import ConveyorCondition, MotionCondition, PresenceCondition, QuestionCondition, RuleSettings
from engine.api import ModelIdentity


def describe(rule: RuleSettings) -> str:
    """The question of a question rule; for the detectors, what they check, in words."""
    c = rule.condition
    if isinstance(c, QuestionCondition):
        return c.text
    if isinstance(c, MotionCondition):
        bound = f"below {c.below}" if c.below is not None else f"above {c.above}"
        along = "" if c.direction is None else f" along {list(c.direction)}"
        return f"Is the motion{along} in the region {bound} frame widths per second?"
    if isinstance(c, ConveyorCondition):
        if c.state == "stopped":
            return (f"Has the belt moving along {list(c.direction)} stopped (under {c.stopped_below_pct:g} % of its "
                    f"normal speed, running again over {c.clear_above_pct:g} %)?")
        return f"Are objects piling up on the belt moving along {list(c.direction)} while it keeps running?"
    if isinstance(c, PresenceCondition):
        dwell = f" for at least {c.min_dwell_s:g} s" if c.min_dwell_s else ""
        return f"Have at least {c.min_count} people stood in the zone{dwell}?"
    return "Is the camera offline?"


def explain_prompt(rule: RuleSettings) -> str:
    return f"{describe(rule)} Answer in one sentence, saying what you see."


def build_event(rule: RuleSettings, camera_id: str, tr: Transition, model: ModelIdentity | None = None,
                measured: dict[str, float] | None = None, people: PeopleWire | None = None) -> AlertEvent:
    """The event of one transition; `model` is the model whose answer scored a question rule (carried on the wire),
    `measured` a detector's figures (conveyor speeds, held cells), `people` a presence rule's count and boxes."""
    occ = tr.occurrence
    clip_start = occ.started_at - rule.clip_pre_s
    clip_end = (tr.ended_at if tr.ended_at is not None else tr.at) + rule.clip_post_s
    api = f"/api/cameras/{camera_id}"
    return AlertEvent(
        event_id=f"{occ.id}/{occ.seq}", id=occ.id, seq=occ.seq, type=tr.type, rule=rule.id, camera=camera_id,
        condition=rule.condition.type, severity=occ.severity,
        score=_unit(tr.score), peak_score=_unit(occ.peak), question=describe(rule), explanation=occ.explanation,
        started_at=iso(occ.started_at), ended_at=None if tr.ended_at is None else iso(tr.ended_at),
        emitted_at=iso(tr.at), measured=measured or None,
        snapshot=SnapshotRef(camera=camera_id, at=iso(occ.started_at),
                             path=f"{api}/snapshot.jpg?t={occ.started_at:.3f}"),
        clip=ClipRange(camera=camera_id, start=iso(clip_start), end=iso(clip_end),
                       path=f"{api}/clip.mp4?start={clip_start:.3f}&end={clip_end:.3f}"),
        model=ModelInfo.of(model) if model is not None and isinstance(rule.condition, QuestionCondition) else None,
        people=people,
    )


def people_wire(seen: PeopleSeen | None) -> PeopleWire | None:
    """A presence detector's latest count and boxes as they go on the wire (None: no frame scanned yet)."""
    if seen is None:
        return None
    boxes = [PersonBoxWire(x0=_unit(b.x0), y0=_unit(b.y0), x1=_unit(b.x1), y1=_unit(b.y1), track=b.track_id,
                           dwell_s=max(0.0, round(b.dwell_s, 3))) for b in seen.boxes]
    return PeopleWire(count=seen.count, at=iso(seen.at), boxes=boxes)


def _unit(x: float) -> float:
    return min(1.0, max(0.0, x))
