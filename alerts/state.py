"""The rule state machine: scores in, alert transitions out. Pure: time is an argument, nothing is awaited.

    idle ──score ≥ threshold──► pending ──held for `for_s`, no cooldown──► active   (emits started)
    pending ──held for `for_s` inside the cooldown──► pending   (emits suppressed, once)
    pending (suppressed) ──still held when the cooldown ends──► active   (emits started, same occurrence)
    pending ──score < threshold──► idle     (flapping never starts an alert)
    active ──score < clear_below──► clearing ──clear for `clear_for_s`──► idle     (emits ended, starts cooldown)
    clearing ──score ≥ clear_below──► active
    active ──peak rose by UPDATE_STEP, or severity changed──► active   (emits updated)

A tick without a score (no fresh video, engine busy) changes nothing. A cooldown never makes an occurrence
vanish: one that holds for `for_s` inside it is announced as `suppressed` (counted, kept in the alert history),
and announced as `started` if it still holds when the cooldown ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from alerts.event import EventType
from config.rules import RuleSettings

UPDATE_STEP = 0.05  # the peak must rise this much before an `updated` is worth sending


class Phase(StrEnum):
    IDLE = "idle"
    PENDING = "pending"
    ACTIVE = "active"
    CLEARING = "clearing"


@dataclass(frozen=True, slots=True)
class Timing:
    threshold: float
    clear_below: float
    for_s: float
    clear_for_s: float
    cooldown_s: float
    severity: str

    @staticmethod
    def of(rule: RuleSettings) -> Timing:
        clear = rule.threshold if rule.clear_below is None else rule.clear_below
        return Timing(rule.threshold, clear, rule.for_s, rule.clear_for_s, rule.cooldown_s, rule.severity)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One alert from started to ended; `seq` is the number of the last event sent for it."""

    id: str
    started_at: float
    peak: float
    reported_peak: float
    severity: str
    seq: int = 0
    explanation: str | None = None


@dataclass(frozen=True, slots=True)
class RuleState:
    phase: Phase = Phase.IDLE
    since: float | None = None  # when pending or clearing began
    occurrence: Occurrence | None = None
    cooldown_until: float = -math.inf


@dataclass(frozen=True, slots=True)
class Transition:
    type: EventType
    occurrence: Occurrence
    score: float
    at: float  # when the machine decided
    ended_at: float | None = None


Step = tuple[RuleState, Transition | None]


def step(state: RuleState, score: float | None, now: float, timing: Timing, key: str) -> Step:
    """Advance one rule on one camera by one evaluation. `key` prefixes the occurrence id."""
    if score is None:
        return state, None
    if state.phase is Phase.IDLE:
        return _from_idle(state, score, now, timing, key)
    if state.phase is Phase.PENDING:
        return _from_pending(state, score, now, timing, key)
    if state.phase is Phase.ACTIVE:
        return _from_active(state, score, now, timing)
    return _from_clearing(state, score, now, timing)


def annotate(state: RuleState, explanation: str, now: float) -> Step:
    """Attach the model's explanation to the open occurrence: an `updated` event carries it."""
    occ = state.occurrence
    if occ is None or state.phase not in (Phase.ACTIVE, Phase.CLEARING):
        return state, None
    occ = replace(occ, explanation=explanation, seq=occ.seq + 1)
    return replace(state, occurrence=occ), Transition(EventType.UPDATED, occ, occ.peak, now)


def _from_idle(state: RuleState, score: float, now: float, timing: Timing, key: str) -> Step:
    if score < timing.threshold:
        return state, None
    pending = replace(state, phase=Phase.PENDING, since=now)
    return _from_pending(pending, score, now, timing, key)


def _from_pending(state: RuleState, score: float, now: float, timing: Timing, key: str) -> Step:
    onset = now if state.since is None else state.since
    if score < timing.threshold:
        return replace(state, phase=Phase.IDLE, since=None, occurrence=None), None
    if now - onset < timing.for_s:
        return state, None
    if now < state.cooldown_until:
        return _suppress(state, score, now, timing, key, onset)
    if state.occurrence is None:
        occ = Occurrence(f"{key}:{round(onset * 1000)}", onset, score, score, timing.severity)
    else:  # announced as suppressed before: the same occurrence, its next event
        occ = replace(state.occurrence, peak=max(state.occurrence.peak, score), seq=state.occurrence.seq + 1)
    active = RuleState(Phase.ACTIVE, None, occ, state.cooldown_until)
    return active, Transition(EventType.STARTED, occ, score, now)


def _suppress(state: RuleState, score: float, now: float, timing: Timing, key: str, onset: float) -> Step:
    """Inside the cooldown: announce the occurrence once as suppressed, then wait for the cooldown's end."""
    if state.occurrence is not None:
        return replace(state, occurrence=replace(state.occurrence, peak=max(state.occurrence.peak, score))), None
    occ = Occurrence(f"{key}:{round(onset * 1000)}", onset, score, score, timing.severity)
    return replace(state, occurrence=occ), Transition(EventType.SUPPRESSED, occ, score, now)


def _from_active(state: RuleState, score: float, now: float, timing: Timing) -> Step:
    assert state.occurrence is not None  # active always carries its occurrence
    occ = replace(state.occurrence, peak=max(state.occurrence.peak, score))
    if score < timing.clear_below:
        clearing = replace(state, phase=Phase.CLEARING, since=now, occurrence=occ)
        return _from_clearing(clearing, score, now, timing)
    return _maybe_update(replace(state, occurrence=occ), score, now, timing)


def _from_clearing(state: RuleState, score: float, now: float, timing: Timing) -> Step:
    assert state.occurrence is not None and state.since is not None
    if score >= timing.clear_below:
        return _from_active(replace(state, phase=Phase.ACTIVE, since=None), score, now, timing)
    if now - state.since < timing.clear_for_s:
        return state, None
    occ = replace(state.occurrence, seq=state.occurrence.seq + 1)
    idle = RuleState(Phase.IDLE, None, None, now + timing.cooldown_s)
    return idle, Transition(EventType.ENDED, occ, score, now, ended_at=state.since)


def _maybe_update(state: RuleState, score: float, now: float, timing: Timing) -> Step:
    occ = state.occurrence
    assert occ is not None
    if occ.peak - occ.reported_peak < UPDATE_STEP and occ.severity == timing.severity:
        return state, None
    occ = replace(occ, reported_peak=occ.peak, severity=timing.severity, seq=occ.seq + 1)
    return replace(state, occurrence=occ), Transition(EventType.UPDATED, occ, score, now)
