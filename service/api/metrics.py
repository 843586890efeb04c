"""Prometheus metrics of the HTTP layer (default registry, served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

QUESTIONS = Counter(
    "vigil_api_questions_total", "Operator questions by camera, mode and outcome", ["camera_id", "mode", "outcome"]
)
QUESTION_SECONDS = Histogram(
    "vigil_api_question_seconds", "Time to answer an operator question, end to end", ["camera_id", "mode"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 120),
)
CLIPS = Counter("vigil_api_clips_total", "Clip exports by camera and outcome", ["camera_id", "outcome"])
AUTH_FAILURES = Counter("vigil_api_auth_failures_total", "Requests refused for a missing or wrong token", ["reason"])
BODIES_REFUSED = Counter("vigil_api_bodies_refused_total", "Request bodies refused for exceeding api.max_body_bytes")
SSE_CLIENTS = Gauge("vigil_api_sse_clients", "Open live alert streams (server-sent events)")
SSE_REFUSED = Counter("vigil_api_sse_refused_total", "Live alert streams refused because the limit was reached")
LIVE_VIEWERS = Gauge("vigil_api_live_viewers", "Open live views (MJPEG streams)")
LIVE_REFUSED = Counter("vigil_api_live_refused_total", "Live views refused because the limit was reached")
