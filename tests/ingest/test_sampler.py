"""FpsSampler and BackoffPolicy: pure timing policy."""

from __future__ import annotations

import itertools
import random

from config.cameras import Backoff
from ingest.backoff import BackoffPolicy
from ingest.sampler import FpsSampler


def kept(sampler: FpsSampler, times: list[float]) -> list[float]:
    return [t for t in times if sampler.keep(t)]


def test_25fps_sampled_to_2fps_keeps_exactly_two_frames_per_second() -> None:
    times = [i / 25 for i in range(25 * 10)]
    out = kept(FpsSampler(2.0), times)
    assert len(out) == 20
    assert all(abs((b - a) - 0.5) < 0.05 for a, b in itertools.pairwise(out))


def test_jittered_arrival_does_not_drift_the_rate() -> None:
    rng = random.Random(3)
    times = sorted(i / 30 + rng.uniform(-0.01, 0.01) for i in range(30 * 20))
    assert len(kept(FpsSampler(1.0), times)) == 20


def test_wants_matches_keep_without_advancing() -> None:
    sampler = FpsSampler(2.0)
    assert sampler.keep(0.0)
    assert not sampler.wants(0.2) and not sampler.wants(0.2)
    assert sampler.wants(0.5) and sampler.keep(0.5)


def test_timestamp_jump_restarts_the_schedule() -> None:
    sampler = FpsSampler(2.0)
    assert kept(sampler, [0.0, 0.5, 1.0]) == [0.0, 0.5, 1.0]
    assert sampler.keep(500.0)  # a reconnect with a new clock: keep at once, no burst of catch-up frames
    assert not sampler.keep(500.1)
    assert sampler.keep(-3.0)  # a jump backwards (wrap, new session) also restarts


def test_backoff_grows_by_factor_up_to_the_cap_and_resets() -> None:
    policy = BackoffPolicy(Backoff(initial_s=1, max_s=10, factor=2, jitter=0), random.Random(0))
    assert [policy.next_delay() for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    policy.reset()
    assert policy.next_delay() == 1


def test_backoff_jitter_stays_within_its_fraction_and_spreads_cameras() -> None:
    delays = [BackoffPolicy(Backoff(initial_s=2, jitter=0.25), random.Random(s)).next_delay() for s in range(50)]
    assert all(1.5 <= d <= 2.5 for d in delays)
    assert len({round(d, 3) for d in delays}) > 40
