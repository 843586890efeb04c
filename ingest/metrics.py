"""Prometheus metrics of ingest (default registry); every series carries the camera id, never a URL."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

FRAMES_IN = Counter("vigil_ingest_frames_in_total", "Frames received from the source (decoded or skipped)",
                    ["camera_id"])
FRAMES_SAMPLED = Counter("vigil_ingest_frames_sampled_total", "Frames kept at the camera's target fps", ["camera_id"])
FRAMES_DROPPED = Counter("vigil_ingest_frames_dropped_total", "Frames not kept, by reason", ["camera_id", "reason"])
INPUT_FPS = Gauge("vigil_ingest_input_fps", "Frames per second arriving from the source (last few seconds)",
                  ["camera_id"])
SAMPLED_FPS = Gauge("vigil_ingest_sampled_fps", "Frames per second kept (last few seconds)", ["camera_id"])
RECONNECTS = Counter("vigil_ingest_reconnects_total", "Connection attempts after a failure or stall", ["camera_id"])
STALLS = Counter("vigil_ingest_stalls_total", "Times a streaming camera stopped delivering frames", ["camera_id"])
STATE = Gauge("vigil_ingest_camera_state", "1 for the camera's current lifecycle state, 0 for the others",
              ["camera_id", "state"])
BUFFER_EVICTED = Counter("vigil_ingest_buffer_evicted_total", "Frames pushed out of the ring by newer ones "
                         "(policy DROP_OLDEST)", ["camera_id"])
BUFFER_MISSED = Counter("vigil_ingest_buffer_missed_total", "Frames a reader asked for after the ring had evicted "
                        "them", ["camera_id"])
FOOTAGE_BYTES = Gauge("vigil_footage_bytes", "Bytes of footage stored on disk", ["camera_id"])
FOOTAGE_DELETED = Counter("vigil_footage_deleted_total", "Stored frames deleted by retention, by reason",
                          ["camera_id", "reason"])
WHIP_SESSIONS = Counter("vigil_ingest_whip_sessions_total", "WHIP offers by outcome", ["camera_id", "outcome"])
TIMESTAMP_JUMPS = Counter("vigil_ingest_timestamp_jumps_total", "Source timestamps that jumped backwards or absurdly "
                          "far forward and were re-based to keep frame time monotonic", ["camera_id", "direction"])
