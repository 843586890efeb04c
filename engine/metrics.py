"""Prometheus metrics of the streaming engine (default registry), labelled by camera."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

PREFILL_SECONDS = Histogram(
    "vigil_engine_chunk_prefill_seconds", "Prefill of new groups into a camera's open chunk", ["camera_id"],
    buckets=_SECONDS,
)
ENCODE_SECONDS = Histogram(
    "vigil_engine_encode_seconds", "Vision encoding of a batch of groups (SigLIP, DTS, projector)", ["camera_id"],
    buckets=_SECONDS,
)
QUESTION_SECONDS = Histogram(
    "vigil_engine_question_seconds", "A question from the engine taking it to its answer", ["camera_id", "kind"],
    buckets=_SECONDS,
)
QUEUE_DEPTH = Gauge("vigil_engine_queue_depth", "Groups waiting for the engine thread", ["camera_id"])
QUESTIONS_WAITING = Gauge("vigil_engine_questions_waiting", "Questions waiting for the engine thread")
LAG_SECONDS = Gauge("vigil_engine_lag_seconds", "How long the camera's oldest waiting group has waited", ["camera_id"])
KV_TOKENS = Gauge("vigil_engine_kv_tokens", "Tokens held in the camera's KV cache (memory)", ["camera_id"])
KV_BYTES = Gauge("vigil_engine_kv_bytes", "Bytes held in the camera's KV cache (memory)", ["camera_id"])
GROUPS_DROPPED = Counter(
    "vigil_engine_groups_dropped_total", "4-frame groups dropped by a named policy", ["camera_id", "policy"]
)
FRAMES = Counter("vigil_engine_frames_total", "Frames submitted to the engine, by outcome", ["camera_id", "outcome"])
CHUNKS_QUARANTINED = Counter(
    "vigil_engine_chunks_quarantined_total", "Chunk files refused (corrupt, foreign) and moved aside", ["camera_id"]
)
GAP_CHUNKS = Gauge(
    "vigil_engine_cache_gap_chunks", "Chunks missing inside the camera's retained video (quarantined or lost)",
    ["camera_id"],
)
