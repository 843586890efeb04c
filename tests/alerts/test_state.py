"""The rule state machine on a fake clock: timing, hysteresis, cooldown and when `updated` is sent."""

from __future__ import annotations

from alerts.event import EventType
from alerts.state import Phase, RuleState, Timing, annotate, step

TIMING = Timing(threshold=0.5, clear_below=0.3, for_s=3.0, clear_for_s=2.0, cooldown_s=10.0, severity="warning")


def run(scores: list[float | None], timing: Timing = TIMING, every: float = 1.0,
        state: RuleState | None = None) -> tuple[RuleState, list[tuple[float, EventType]]]:
    """Feed one score per tick at t = 0, every, 2*every, ...; return the final state and (t, event type)."""
    state = state or RuleState()
    events = []
    for i, score in enumerate(scores):
        state, tr = step(state, score, i * every, timing, "cam:rule")
        if tr is not None:
            events.append((i * every, tr.type))
    return state, events


def test_alert_starts_after_for_and_ends_after_clear_for() -> None:
    _, events = run([0.9] * 6 + [0.1] * 5)
    assert events == [(3.0, EventType.STARTED), (8.0, EventType.ENDED)]


def test_flapping_around_threshold_never_starts() -> None:
    _, events = run([0.6, 0.4] * 20)
    assert events == []


def test_pending_restarts_its_wait_after_a_dip() -> None:
    _, events = run([0.9, 0.9, 0.4, 0.9, 0.9, 0.9, 0.9])
    assert events == [(6.0, EventType.STARTED)]


def test_hysteresis_keeps_alert_open_between_clear_below_and_threshold() -> None:
    state, events = run([0.9] * 4 + [0.4] * 10)
    assert [e for _, e in events] == [EventType.STARTED]
    assert state.phase is Phase.ACTIVE


def test_brief_dip_below_clear_below_does_not_end_the_alert() -> None:
    _, events = run([0.9] * 4 + [0.1, 0.6, 0.1, 0.6] * 5)
    assert [e for _, e in events] == [EventType.STARTED]


def test_clear_for_counts_from_the_first_clear_tick() -> None:
    state, events = run([0.9] * 4 + [0.2, 0.2, 0.2])
    assert events[-1] == (6.0, EventType.ENDED)
    assert state.phase is Phase.IDLE


def test_cooldown_announces_a_held_start_as_suppressed_then_starts_it_when_the_cooldown_ends() -> None:
    timing = Timing(0.5, 0.5, 0.0, 0.0, cooldown_s=10.0, severity="warning")
    _, events = run([0.9, 0.1] + [0.9] * 15, timing)
    assert events == [(0.0, EventType.STARTED), (1.0, EventType.ENDED), (2.0, EventType.SUPPRESSED),
                      (11.0, EventType.STARTED)]


def test_a_second_jam_inside_the_cooldown_keeps_its_onset_and_occurrence() -> None:
    timing = Timing(0.5, 0.5, for_s=5.0, clear_for_s=0.0, cooldown_s=120.0, severity="critical")
    scores: list[float | None] = [0.9] * 60 + [0.1] * 55 + [0.9] * 70 + [0.1] * 5  # jam, 55 s gap, second jam
    state = RuleState()
    seen = []
    for i, score in enumerate(scores):
        state, tr = step(state, score, float(i), timing, "cam:rule")
        if tr is not None:
            seen.append((float(i), tr.type, tr.occurrence.id, tr.occurrence.seq, tr.occurrence.started_at))
    second = [e for e in seen if e[4] == 115.0]
    assert [e[1] for e in second] == [EventType.SUPPRESSED, EventType.STARTED, EventType.ENDED]
    assert second[0][0] == 120.0 and second[1][0] == 60.0 + 120.0  # announced at for_s, started at cooldown end
    assert len({e[2] for e in second}) == 1 and [e[3] for e in second] == [0, 1, 2]


def test_an_occurrence_that_ends_inside_the_cooldown_is_still_recorded_once() -> None:
    timing = Timing(0.5, 0.5, for_s=2.0, clear_for_s=0.0, cooldown_s=60.0, severity="warning")
    _, events = run([0.9] * 4 + [0.1] * 10 + [0.9] * 8 + [0.1] * 10 + [0.9] * 3, timing)
    assert [e for _, e in events] == [EventType.STARTED, EventType.ENDED, EventType.SUPPRESSED,
                                      EventType.SUPPRESSED]


def test_zero_for_starts_on_the_first_tick_over_threshold() -> None:
    _, events = run([0.1, 0.7], Timing(0.5, 0.5, 0.0, 0.0, 0.0, "info"))
    assert events == [(1.0, EventType.STARTED)]


def test_missing_scores_change_nothing() -> None:
    state, events = run([0.9, None, None, 0.9, 0.9, None, 0.9])
    assert events == [(3.0, EventType.STARTED)]
    assert state.phase is Phase.ACTIVE


def test_updated_only_when_peak_rises_meaningfully() -> None:
    state, events = run([0.6] * 4 + [0.61, 0.62, 0.63, 0.7, 0.7, 0.69, 0.8])
    assert [t for t, e in events if e is EventType.UPDATED] == [7.0, 10.0]
    assert state.occurrence is not None and state.occurrence.seq == 2 and state.occurrence.peak == 0.8


def test_severity_change_of_an_open_alert_sends_updated() -> None:
    state, _ = run([0.9] * 4)
    critical = Timing(0.5, 0.3, 3.0, 2.0, 10.0, "critical")
    state, tr = step(state, 0.9, 10.0, critical, "cam:rule")
    assert tr is not None and tr.type is EventType.UPDATED and tr.occurrence.severity == "critical"


def test_occurrence_keeps_one_id_and_counts_its_events() -> None:
    ids, seqs = set(), []
    state = RuleState()
    for i, score in enumerate([0.9] * 4 + [0.99] + [0.1] * 3):
        state, tr = step(state, score, 100.0 + i, TIMING, "line1:jam")
        if tr is not None:
            ids.add(tr.occurrence.id)
            seqs.append(tr.occurrence.seq)
    assert ids == {"line1:jam:100000"} and seqs == [0, 1, 2]


def test_started_at_is_the_onset_and_ended_at_the_first_clear_tick() -> None:
    state = RuleState()
    transitions = []
    for i, score in enumerate([0.1, 0.9, 0.9, 0.9, 0.9, 0.1, 0.1, 0.1]):
        state, tr = step(state, score, float(i), TIMING, "k")
        transitions += [tr] if tr else []
    started, ended = transitions
    assert started.occurrence.started_at == 1.0 and started.at == 4.0
    assert ended.ended_at == 5.0 and ended.at == 7.0


def test_annotate_adds_the_explanation_with_an_update() -> None:
    state, _ = run([0.9] * 4)
    state, tr = annotate(state, "The belt is stopped.", 5.0)
    assert tr is not None and tr.type is EventType.UPDATED and tr.occurrence.explanation == "The belt is stopped."
    idle, none = annotate(RuleState(), "late", 6.0)
    assert none is None and idle == RuleState()
