"""Rule settings: a condition on a camera, and the timing that turns scores into alerts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from config.base import StrictModel

Point = tuple[float, float]
"""(x, y) in normalized image coordinates, 0..1, origin top-left."""


MAX_REGION_POINTS = 256  # a hand-drawn zone has a dozen corners; the bound keeps the crossing check O(n^2) cheap


def _check_region(points: list[Point]) -> list[Point]:
    if len(points) < 3 and len(points) != 2:
        raise ValueError("a region is a box [[x0, y0], [x1, y1]] or a polygon of at least 3 points")
    if len(points) > MAX_REGION_POINTS:
        raise ValueError(f"a region has at most {MAX_REGION_POINTS} points ({len(points)} given); simplify it")
    for x, y in points:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(f"point ({x}, {y}) is outside the normalized range 0..1")
    if len(points) == 2 and (points[0][0] >= points[1][0] or points[0][1] >= points[1][1]):
        raise ValueError(f"box {points} is empty: write [[x0, y0], [x1, y1]] with x0 < x1 and y0 < y1")
    if len(points) > 2 and _signed_area(points) == 0.0:
        raise ValueError(f"polygon {points} encloses no area (its points lie on one line, or crossing edges cancel "
                         "out); list its corners in order around the region")
    crossing = _first_crossing(points) if len(points) > 3 else None
    if crossing is not None:
        i, j = crossing
        raise ValueError(f"polygon edges cross: {points[i]}-{points[(i + 1) % len(points)]} and "
                         f"{points[j]}-{points[(j + 1) % len(points)]}; list its corners in order around the region")
    return points


def _first_crossing(points: list[Point]) -> tuple[int, int] | None:
    """The first pair of non-adjacent edges (by start index) that touch or cross: a self-intersecting polygon, whose
    inside depends on the fill rule. Orientation tests (Cormen et al., "Introduction to Algorithms", 33.1)."""
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 2, n):
            if (j + 1) % n != i and _segments_meet(*edges[i], *edges[j]):
                return i, j
    return None


def _segments_meet(a: Point, b: Point, c: Point, d: Point) -> bool:
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if o1 * o2 < 0 and o3 * o4 < 0:
        return True
    return any(o == 0 and _within(p, q, r) for o, p, q, r in ((o1, a, b, c), (o2, a, b, d), (o3, c, d, a),
                                                               (o4, c, d, b)))


def _orient(a: Point, b: Point, c: Point) -> float:
    """Sign of the turn a -> b -> c: > 0 counter-clockwise, < 0 clockwise, 0 collinear."""
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _within(a: Point, b: Point, p: Point) -> bool:
    """Whether p, collinear with segment a-b, lies on it."""
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _signed_area(points: list[Point]) -> float:
    """Shoelace formula (Gauss): the polygon's signed area, in frame fractions; 0 for a degenerate one."""
    doubled = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))
    return round(doubled / 2, 12)  # float noise of collinear points is not an area


class QuestionCondition(StrictModel):
    type: Literal["question"] = "question"
    text: str = Field(min_length=3, max_length=500, description="a yes/no question; the score is P(yes)")


class MotionCondition(StrictModel):
    type: Literal["motion"] = "motion"
    region: list[Point] = Field(description="box [[x0,y0],[x1,y1]] or polygon, normalized coordinates")
    below: float | None = Field(None, ge=0, description="fire when motion energy falls below this (a stopped belt)")
    above: float | None = Field(None, ge=0, description="fire when motion energy rises above this")
    direction: Point | None = Field(
        None, description="belt direction (dx, dy); motion is measured along it so stuck boxes on a moving "
        "belt and a stopped belt are told apart"
    )

    _region = field_validator("region")(_check_region)

    @field_validator("direction")
    @classmethod
    def _nonzero(cls, value: Point | None) -> Point | None:
        if value is not None and value[0] == 0 and value[1] == 0:
            raise ValueError("direction (0, 0) has no direction; use e.g. [1, 0] for a belt moving right")
        return value

    @model_validator(mode="after")
    def _one_bound(self) -> MotionCondition:
        if (self.below is None) == (self.above is None):
            raise ValueError("a motion condition needs exactly one of 'below' or 'above'")
        return self


class ConveyorCondition(StrictModel):
    """A conveyor belt's state, judged against the belt's own normal speed (learned online, kept across restarts).

    Units: `region` in normalized image coordinates (0..1, origin top-left); `direction` in pixel space, i.e. the
    direction of travel as it looks on the picture (x right, y down; only its angle matters: [1, 1] is 45 degrees
    down-right on screen whatever the frame's aspect ratio); speeds in % of the learned normal speed.
    """

    type: Literal["conveyor"] = "conveyor"
    region: list[Point] = Field(description="the belt: box [[x0,y0],[x1,y1]] or polygon, normalized coordinates")
    direction: Point = Field(
        description="direction of travel in pixel space as seen on the picture (x right, y down), e.g. [1, 0] for "
        "a belt moving right, [1, 1] for one moving down-right at 45 degrees; only the angle matters"
    )
    state: Literal["stopped", "pileup"] = Field(
        description="stopped: the belt surface stops; pileup: the belt runs while objects on it stay put and "
        "the held stretch grows"
    )
    stopped_below_pct: float = Field(
        15.0, gt=0, lt=100, description="the belt counts as stopped below this % of its normal speed"
    )
    clear_above_pct: float = Field(
        40.0, gt=0, le=100, description="a stopped belt counts as running again above this % of its normal speed"
    )

    _region = field_validator("region")(_check_region)

    @field_validator("direction")
    @classmethod
    def _nonzero(cls, value: Point) -> Point:
        if value[0] == 0 and value[1] == 0:
            raise ValueError("direction (0, 0) has no direction; use e.g. [1, 0] for a belt moving right")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ConveyorCondition:
        if self.clear_above_pct <= self.stopped_below_pct:
            raise ValueError(f"clear_above_pct ({self.clear_above_pct}) must exceed stopped_below_pct "
                             f"({self.stopped_below_pct}) so that the state does not flap")
        return self


class PresenceCondition(StrictModel):
    type: Literal["presence"] = "presence"
    region: list[Point] = Field(description="zone as a box or polygon, normalized coordinates")
    min_count: int = Field(1, ge=1, le=100, description="people needed in the zone")
    min_dwell_s: float = Field(
        0.0, ge=0, le=86400, description="a person counts once their feet have stayed in the zone this long (s)"
    )
    person_height: tuple[float, float] | None = Field(
        None, description="(smallest, tallest) height of a person standing in the zone, as fractions of the frame "
        "height; sets the resolution people are looked for at. Default: automatic (0.12 to 0.7)"
    )

    _region = field_validator("region")(_check_region)

    @field_validator("person_height")
    @classmethod
    def _heights(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (0.01 <= value[0] <= value[1] <= 1.0):
            raise ValueError(f"person_height {list(value)} must be [smallest, tallest] with "
                             "0.01 <= smallest <= tallest <= 1 (fractions of the frame height)")
        return value


class CameraOfflineCondition(StrictModel):
    type: Literal["camera_offline"] = "camera_offline"


Condition = Annotated[
    QuestionCondition | MotionCondition | ConveyorCondition | PresenceCondition | CameraOfflineCondition,
    Field(discriminator="type"),
]


class RuleSettings(StrictModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="stable rule id")
    cameras: list[str] | Literal["all"] = Field("all", description="camera ids (at least one), or 'all'")
    condition: Condition = Field(description="question, motion, conveyor, presence or camera_offline")
    every_s: float = Field(5.0, gt=0, le=3600, description="evaluation period")
    threshold: float = Field(0.5, ge=0, le=1, description="score at or above which the condition holds")
    clear_below: float | None = Field(None, ge=0, le=1, description="score under which it clears (default: threshold)")
    for_s: float = Field(0.0, ge=0, le=86400, description="the condition must hold this long to start an alert")
    clear_for_s: float = Field(0.0, ge=0, le=86400, description="it must stay clear this long to end the alert")
    cooldown_s: float = Field(0.0, ge=0, le=86400, description="after an alert ends, no new start for this long")
    severity: Literal["info", "warning", "critical"] = Field("warning", description="alert severity")
    explain: bool = Field(False, description="ask the model for a one-sentence explanation when an alert starts")
    enabled: bool = Field(True, description="false keeps the rule but never evaluates it")
    clip_pre_s: float = Field(5.0, ge=0, le=600, description="seconds of footage before the start in the alert's clip")
    clip_post_s: float = Field(5.0, ge=0, le=600, description="seconds of footage after the end in the alert's clip")

    @field_validator("cameras")
    @classmethod
    def _some_camera(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list) and not value:
            raise ValueError("empty camera list: name at least one camera id, or write 'all'")
        return value

    @model_validator(mode="after")
    def _hysteresis(self) -> RuleSettings:
        if isinstance(self.condition, ConveyorCondition) and {"threshold", "clear_below"} & self.model_fields_set:
            raise ValueError(f"rule {self.id!r}: a conveyor condition decides with its own hysteresis in % of the "
                             "belt's normal speed (stopped_below_pct, clear_above_pct); remove threshold/clear_below")
        if self.clear_below is not None and self.clear_below > self.threshold:
            raise ValueError(f"clear_below ({self.clear_below}) must not exceed threshold ({self.threshold})")
        return self

    def camera_ids(self, known: list[str]) -> list[str]:
        return list(known) if self.cameras == "all" else list(self.cameras)
