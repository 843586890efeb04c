"""Who is in the zone, since when: people boxes tracked across frames and tested by where they stand.

Tracking is supervision's ByteTrack (MIT; Zhang et al. 2022): boxes matched across frames by IoU after a Kalman
prediction, with low-confidence boxes used to continue tracks but not to start them, so one missed or weak HOG
detection does not split a person in two. "In the zone" is supervision's PolygonZone with the BOTTOM_CENTER
anchor: the feet, not the body, must be inside, so someone walking in front of a floor zone is not in it.
Why this library and version: docs/presence.md.

A visit is one track's stay in the zone: it starts when the track's feet enter (an entry), ends when they are
seen outside or the track has not been seen for HOLD_S. A person who leaves and comes back makes two entries.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import supervision as sv

from alerts.detectors.people_finder import Found
from alerts.region import polygon

HOLD_S = 1.5  # a person unseen for up to this long (missed detections, brief occlusion) is still counted
ACTIVATION = 0.4  # ByteTrack starts tracks above this + 0.1 (margin 0: every HOG box); weaker ones only continue
LOST_FRAMES = 6  # frames a lost track may be re-found in (3 s at 2 fps)
CONFIRM_FRAMES = 1  # scans before a new track is reported; 2 at ~1 scan per second misses walkers that re-track
MATCH = 0.85  # ByteTrack's matching bound on 1 - IoU, i.e. IoU >= 0.15 after its Kalman prediction
GATE = (3.0, 1.5)  # boxes are widened (x, y) about their centre for matching only: a walker scanned once a
# second moves 1-2 body widths between frames, which would leave the plain boxes no overlap to match on
NEAR = 0.5  # a new track whose feet are within this many body heights of a lost visit's feet continues it,
WALK = 0.8  # plus this many body heights per second since the visit was last seen (1.4 m/s for a 1.7 m person)


Box = tuple[float, float, float, float]  # (x0, y0, x1, y1), normalized 0..1


@dataclass(frozen=True, slots=True)
class PersonBox:
    """One person in the zone: box normalized to 0..1 of the frame (feet at y1), track id (None: not tracked
    yet), dwell in s."""

    track_id: int | None
    x0: float
    y0: float
    x1: float
    y1: float
    dwell_s: float


@dataclass(slots=True)
class _Visit:
    entered_at: float
    last_seen: float
    box: Box


class ZoneTracker:
    """Tracks one camera's people for one zone; fed frames in time order by one detector."""

    def __init__(self, zone: list[tuple[float, float]]) -> None:
        self._zone = polygon(zone)
        with warnings.catch_warnings():  # ByteTrack moved to the `trackers` package, see docs/presence.md
            warnings.simplefilter("ignore", FutureWarning)
            self._tracker = sv.ByteTrack(track_activation_threshold=ACTIVATION, lost_track_buffer=LOST_FRAMES,
                                         minimum_matching_threshold=MATCH, frame_rate=30,
                                         minimum_consecutive_frames=CONFIRM_FRAMES)
        self._areas: dict[tuple[int, int], sv.PolygonZone] = {}
        self._visits: dict[int, _Visit] = {}
        self._newcomers: list[Box] = []  # in the newest frame, in the zone, not tracked yet
        self.entries = 0  # visits started since construction

    def update(self, found: Found, t: float, width: int, height: int) -> None:
        """Add one frame's boxes (source pixels of a width x height frame) seen at time t (s)."""
        tracked = self._track(found, width, height)
        ids = [int(i) for i in (tracked.tracker_id if tracked.tracker_id is not None else [])]
        inside = self._area(width, height).trigger(tracked) if ids else np.zeros(0, bool)
        scale = np.array([width - 1, height - 1] * 2, np.float32)
        for box, track_id, is_in in zip(tracked.xyxy, ids, inside, strict=True):
            self._see(track_id, bool(is_in), t, _unit_box(box / scale), set(ids))
        self._newcomers = self._untracked(found, tracked, t, width, height, set(ids))
        self._forget(t)

    def _untracked(self, found: Found, tracked: sv.Detections, t: float, width: int, height: int,
                   fresh: set[int]) -> list[Box]:
        """In-zone boxes strong enough to start a track that ByteTrack has not confirmed yet (it reports a new
        track from its second sighting, and at one scan a second a walker may not match twice in a row): one
        where a held visit's person stood continues that visit; the others are counted now, without an id."""
        limit = np.array([width - 1, height - 1] * 2, np.float32)
        strong = np.clip(found.boxes.reshape(-1, 4)[found.confidence > ACTIVATION + 0.1], 0, limit)  # [m, 4]
        if not len(strong):
            return []
        known = sv.box_iou_batch(strong, tracked.xyxy).max(axis=1) if len(tracked) else np.zeros(len(strong))
        inside = self._area(width, height).trigger(sv.Detections(xyxy=strong.astype(np.float32)))
        boxes = [_unit_box(b / limit) for b in strong[(known < 0.7) & inside]]
        return [b for b in boxes if not self._refresh(b, t, fresh)]

    def _refresh(self, box: Box, t: float, fresh: set[int]) -> bool:
        for track_id, visit in self._visits.items():
            if track_id not in fresh and visit.last_seen < t and _near(visit.box, box, t - visit.last_seen):
                visit.last_seen, visit.box = t, box
                return True
        return False

    def _track(self, found: Found, width: int, height: int) -> sv.Detections:
        """The boxes with track ids; boxes of tracks not yet confirmed are left out."""
        boxes = found.boxes.astype(np.float32).reshape(-1, 4)  # [n, 4] xyxy source pixels
        detections = sv.Detections(xyxy=_widen(boxes, GATE), confidence=found.confidence.reshape(-1),
                                   class_id=np.zeros(len(boxes), int))
        tracked = self._tracker.update_with_detections(detections)
        if len(tracked):
            box = _widen(tracked.xyxy.astype(np.float32), (1 / GATE[0], 1 / GATE[1]))
            tracked.xyxy = np.clip(box, 0, np.array([width - 1, height - 1] * 2, np.float32))  # feet on the frame
        return tracked

    def people(self, t: float, min_dwell_s: float) -> list[PersonBox]:
        """People in the zone at t (the newest frame) who have stayed at least min_dwell_s, oldest visit first;
        people not tracked yet (track_id None, dwell 0) last."""
        held = [PersonBox(tid, *v.box, dwell_s=t - v.entered_at) for tid, v in self._visits.items()
                if t - v.last_seen <= HOLD_S and t - v.entered_at >= min_dwell_s]
        return held + [PersonBox(None, *b, dwell_s=0.0) for b in self._newcomers if min_dwell_s <= 0]

    def _see(self, track_id: int, is_in: bool, t: float, box: Box, fresh: set[int]) -> None:
        if not is_in:
            self._visits.pop(track_id, None)
            return
        visit = self._visits.get(track_id) or self._adopt(track_id, box, t, fresh)
        if visit is None:
            self.entries += 1
            self._visits[track_id] = _Visit(t, t, box)
        else:
            visit.last_seen, visit.box = t, box

    def _adopt(self, track_id: int, box: Box, t: float, fresh: set[int]) -> _Visit | None:
        """A held visit whose person was not seen this frame and stood where this new track stands is the same
        person under a new track id (the tracker lost them): it continues, so it is neither a second person
        nor a new entry."""
        for old_id, visit in self._visits.items():
            if old_id not in fresh and _near(visit.box, box, t - visit.last_seen):
                del self._visits[old_id]
                self._visits[track_id] = visit
                return visit
        return None

    def _forget(self, t: float) -> None:
        for track_id in [k for k, v in self._visits.items() if t - v.last_seen > HOLD_S]:
            del self._visits[track_id]

    def _area(self, width: int, height: int) -> sv.PolygonZone:
        if (width, height) not in self._areas:
            points = np.array([[round(x * (width - 1)), round(y * (height - 1))] for x, y in self._zone], np.int64)
            self._areas[(width, height)] = sv.PolygonZone(points, triggering_anchors=(sv.Position.BOTTOM_CENTER,))
        return self._areas[(width, height)]


def _widen(boxes: npt.NDArray[np.float32], factor: tuple[float, float]) -> npt.NDArray[np.float32]:
    """[n, 4] xyxy boxes scaled about their centres by factor (x, y)."""
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) / 2 * np.array(factor, np.float32)
    return np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)


def _near(a: Box, b: Box, dt: float) -> bool:
    """Whether the feet (bottom centres) of two boxes dt seconds apart are close enough to be one person's."""
    reach = (NEAR + WALK * dt) * max(a[3] - a[1], b[3] - b[1])
    return bool(np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, a[3] - b[3]) <= reach)


def _unit_box(box: npt.NDArray[np.float32]) -> Box:
    x0, y0, x1, y1 = (float(v) for v in np.clip(box, 0, 1))
    return x0, y0, x1, y1
