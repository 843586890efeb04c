"""Prometheus metrics of the alerts package (default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RULE_EVALUATIONS = Counter(
    "vigil_rule_evaluations_total", "Rule evaluations, by outcome (scored, no_score, error)",
    ["camera_id", "rule_id", "outcome"],
)
RULE_SCORE = Gauge("vigil_rule_score", "Latest score of a rule on a camera, 0..1", ["camera_id", "rule_id"])
RULE_ACTIVE = Gauge("vigil_rule_active", "1 while an alert of the rule is open on the camera", ["camera_id", "rule_id"])
DETECTOR_SECONDS = Histogram(
    "vigil_detector_seconds", "Time spent scoring one tick, by detector", ["camera_id", "detector"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
EVENTS_PUBLISHED = Counter(
    "vigil_alert_events_published_total", "Alert events written to the Redis stream", ["camera_id", "type"]
)
EVENTS_DUPLICATE = Counter(
    "vigil_alert_events_duplicate_total", "Events Redis had already received (resent after a failure)", ["camera_id"]
)
OUTBOX_PENDING = Gauge("vigil_alert_outbox_pending", "Events waiting in the on-disk outbox for Redis")
OUTBOX_APPENDED = Counter("vigil_alert_outbox_appended_total", "Events written to the outbox", ["camera_id"])
OUTBOX_DROPPED = Counter(
    "vigil_alert_outbox_dropped_total", "Events refused because the outbox was full (policy drop_newest)",
    ["camera_id"],
)
STATUS_DROPPED = Counter(
    "vigil_camera_status_dropped_total", "Camera status messages not published because Redis was away",
    ["camera_id"],
)
REDIS_UP = Gauge("vigil_alert_redis_up", "1 when the last publish to Redis succeeded")
STARTS_SUPPRESSED = Counter(
    "vigil_alert_starts_suppressed_total",
    "Occurrences whose start fell inside the rule's cooldown (announced late, or only recorded if they ended first)",
    ["camera_id", "rule_id"],
)
