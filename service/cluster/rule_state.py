"""Rule state in Redis, so that a camera's new owner continues its open alerts (no second `started`).

One string key per camera, `vigil:rulestate:{camera_id}`, holding alerts.store's JSON; a single key per
camera is safe on Redis Cluster. Blocking: the RuleRunner calls it from a worker thread.
"""

from __future__ import annotations

import redis
import structlog

from alerts.errors import AlertsError
from alerts.store import Saved, decode_saved, encode_saved
from config.loader import redact_url

log = structlog.get_logger(__name__)
KEY_PREFIX = "vigil:rulestate:"


def rule_state_key(camera_id: str) -> str:
    return f"{KEY_PREFIX}{camera_id}"


class RedisRuleStore:
    """Load and save one camera's rule state; a Redis failure raises AlertsError (the runner retries next tick)."""

    def __init__(self, url: str, camera_id: str, timeout_s: float) -> None:
        self._url = url
        self._key = rule_state_key(camera_id)
        self._client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)

    def load(self) -> dict[str, Saved]:
        try:
            raw = self._client.get(self._key)
        except (redis.RedisError, OSError) as exc:
            raise AlertsError(f"cannot read rule state {self._key} from {redact_url(self._url)}: {exc}; "
                              "the camera starts once Redis answers") from exc
        if raw is None:
            return {}
        return decode_saved(raw, f"redis key {self._key}")

    def save(self, saved: dict[str, Saved]) -> None:
        try:
            self._client.set(self._key, encode_saved(saved))
        except (redis.RedisError, OSError) as exc:
            raise AlertsError(f"cannot save rule state {self._key} to {redact_url(self._url)}: {exc}; "
                              "retried at the next transition") from exc

    def close(self) -> None:
        self._client.close()
