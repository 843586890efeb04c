"""Rule state that must survive a restart: open occurrences, cooldowns, events not yet handed over, and what a
detector learned (a belt's normal speed).

One JSON file, replaced atomically. A restart restores each rule's occurrence with its id and event counter,
so an alert open before the restart is neither announced again nor forgotten; an event recorded but not yet
confirmed durable by the publisher is sent again (Redis deduplicates it by event_id).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog

from alerts.errors import AlertsError
from alerts.event import AlertEvent
from alerts.state import Occurrence, Phase, RuleState
from config.files import write_atomic

log = structlog.get_logger(__name__)
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Saved:
    """What is kept for one rule on one camera."""

    state: RuleState
    unsent: AlertEvent | None = None  # recorded before publishing; cleared once the publisher accepted it
    detector: dict[str, Any] | None = None  # what a detector learned (a belt's normal speed), JSON-able


class RuleStateStore:
    """Owned by the RuleRunner; blocking file I/O, called from a worker thread."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / "rules.json"

    def load(self) -> dict[str, Saved]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.error("rule_state.unreadable", path=str(self._path), error=str(exc),
                      action="starting without restored alerts; open alerts will be announced again")
            return {}
        return decode_saved(text, str(self._path))

    def save(self, saved: dict[str, Saved]) -> None:
        """Keep only what matters after a restart: open occurrences, running cooldowns, unsent events."""
        data = encode_saved(saved)
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self._path, data)
        except OSError as exc:
            raise AlertsError(f"cannot save rule state to {self._path}: {exc.strerror}; "
                              "check the state directory's permissions and free space") from exc


def encode_saved(saved: dict[str, Saved]) -> bytes:
    """The stored form (JSON) of what matters after a restart; also what cluster mode keeps in Redis."""
    rules = {key: _dump(s) for key, s in saved.items() if _worth_keeping(s)}
    return json.dumps({"format": FORMAT, "rules": rules}, sort_keys=True).encode()


def decode_saved(text: str | bytes, where: str) -> dict[str, Saved]:
    """Parse `encode_saved`'s output; unreadable or another format gives {} (logged, naming `where`)."""
    try:
        raw = json.loads(text)
        if raw.get("format") != FORMAT:
            log.warning("rule_state.other_format", path=where, found=raw.get("format"))
            return {}
        return {key: _saved(item) for key, item in raw.get("rules", {}).items()}
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.error("rule_state.unreadable", path=where, error=str(exc),
                  action="starting without restored alerts; open alerts will be announced again")
        return {}


def _worth_keeping(s: Saved) -> bool:
    return (s.state.occurrence is not None or s.unsent is not None or math.isfinite(s.state.cooldown_until)
            or bool(s.detector))


def _dump(s: Saved) -> dict[str, Any]:
    state = s.state
    return {
        "phase": state.phase.value,
        "since": state.since,
        "cooldown_until": state.cooldown_until if math.isfinite(state.cooldown_until) else None,
        "occurrence": None if state.occurrence is None else asdict(state.occurrence),
        "unsent": None if s.unsent is None else s.unsent.to_json(),
        "detector": s.detector or None,
    }


def _saved(item: dict[str, Any]) -> Saved:
    occ = item.get("occurrence")
    phase = Phase(item["phase"])
    if phase is Phase.PENDING:  # a pending condition starts over after a restart (a suppressed one too)
        phase, occ = Phase.IDLE, None
    cooldown = item.get("cooldown_until")
    state = RuleState(phase, item.get("since") if phase is Phase.CLEARING else None,
                      None if occ is None else Occurrence(**occ), -math.inf if cooldown is None else cooldown)
    unsent = item.get("unsent")
    detector = item.get("detector")
    return Saved(state, None if unsent is None else AlertEvent.from_json(unsent),
                 detector if isinstance(detector, dict) else None)
