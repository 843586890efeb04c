"""Prometheus metrics of the model half of the engine (default registry)."""

from __future__ import annotations

from prometheus_client import Gauge

MODEL_LOAD_SECONDS = Gauge(
    "vigil_model_load_seconds", "Wall time of the last model load, weights and tokenizer included", ["preset"]
)
