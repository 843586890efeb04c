"""The engine thread's rounds: cameras batched fairly, questions ahead of appends and between an append's steps."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest
import torch

from config.engine import EngineSettings
from engine.api import EngineError, TextAnswer, YesNoAnswer
from engine.intake import PendingGroup
from engine.model import VideoXL2
from engine.scheduler import AppendRound, GroupBatch, JobQueue
from engine.worker import AskJob, AskKind, EngineWorker
from tests.engine.stream_helpers import T0, FakeClock, frames
from tests.engine.stream_helpers import pending_group as _group


def test_a_round_takes_each_camera_once_in_turn_and_the_rest_wait_their_turn() -> None:
    queue = JobQueue(capacity=1000, max_lag_s=30.0, clock=FakeClock())
    for i in range(6):
        queue.put_group(_group("busy", float(i)))
    for cam in ("a", "b", "c", "d"):
        queue.put_group(_group(cam, 0.0))
    rounds = [queue.take_round(max_groups=2, max_cameras=3, max_questions=8, timeout=0) for _ in range(4)]
    taken = [[(b.camera_id, len(b.groups)) for b in r.batches] for r in rounds if isinstance(r, AppendRound)]
    assert taken == [
        [("busy", 2), ("a", 1), ("b", 1)],
        [("c", 1), ("d", 1), ("busy", 2)],
        [("busy", 2)],  # alone: a camera is in a round once, even when nobody else waits
    ]
    assert rounds[3] is None


def test_questions_come_before_any_round_and_in_bounded_numbers() -> None:
    queue = JobQueue(capacity=1000, max_lag_s=30.0, clock=FakeClock())
    queue.put_group(_group("cam", 0.0))
    for i in range(5):
        queue.put_question(f"q{i}")
    assert queue.take_round(max_groups=4, max_cameras=4, max_questions=3, timeout=0) == ["q0", "q1", "q2"]
    assert queue.take_questions(10) == ["q3", "q4"] and queue.take_questions(10) == []
    assert isinstance(queue.take_round(max_groups=4, max_cameras=4, max_questions=3, timeout=0), AppendRound)


def test_a_round_still_drops_groups_that_waited_past_max_lag() -> None:
    clock = FakeClock()
    queue = JobQueue(capacity=1000, max_lag_s=10.0, clock=clock)
    for cam in ("a", "b"):
        for i in range(3):
            queue.put_group(_group(cam, 4.0 * i, ready=4.0 * i))
    clock.now = 13.0  # the groups ready at 0 (both cameras) waited more than 10 s
    job = queue.take_round(max_groups=4, max_cameras=4, max_questions=4, timeout=0)
    assert isinstance(job, AppendRound)
    assert [[g.t_first for g in b.groups] for b in job.batches] == [[4.0, 8.0], [4.0, 8.0]]
    assert queue.dropped[("a", "lag")] == queue.dropped[("b", "lag")] == 1


def _pending(camera: str, index: int, seed: int) -> PendingGroup:
    images = tuple(frames(4, seed=seed + index))
    return PendingGroup(camera, images, T0 + 4.0 * index, T0 + 4.0 * index + 3.0)


def test_a_question_is_answered_between_the_steps_of_an_append_round(tiny_model: VideoXL2, tmp_path: Path) -> None:
    settings = EngineSettings(
        persist=False, top_k=0, chunk_groups=2, window_chunks=1, dense_chunks=1, encode_pass_groups=1
    )
    queue = JobQueue(capacity=1000, max_lag_s=1e9)
    worker = EngineWorker(tiny_model, settings, tmp_path, queue)
    with torch.inference_mode():
        for cam in ("a", "b", "c"):
            queue.put_group(_pending(cam, 0, seed=3))
        first = queue.take_round(2, 16, 16, timeout=0)
        assert isinstance(first, AppendRound)
        worker.handle(first)
        for cam in ("a", "b", "c"):
            for i in (1, 2):
                queue.put_group(_pending(cam, i, seed=3))
        second = queue.take_round(2, 16, 16, timeout=0)
        assert isinstance(second, AppendRound) and len(second.batches) == 3
        future: Future[object] = Future()
        queue.put_question(AskJob("a", AskKind.YES_NO, ("Is the belt jammed?",), None, 1, future, 0.0))
        worker.handle(second)
    answer = future.result(timeout=0)
    assert isinstance(answer, YesNoAnswer) and 0.0 <= answer.p_yes[0] <= 1.0
    # answered mid-round: it saw camera a as it was before the round, though the round then added two groups
    assert answer.seen.end == T0 + 3.0
    stats = worker.stats("a")
    assert stats is not None and stats.groups_encoded == 3 and stats.seen is not None
    assert stats.seen.end == T0 + 11.0
    assert np.isclose(stats.seen.start, T0)


def test_right_after_questions_waiting_groups_go_first_so_askers_cannot_starve_ingest() -> None:
    queue = JobQueue(capacity=1000, max_lag_s=30.0, clock=FakeClock())
    queue.put_group(_group("cam", 0.0))
    queue.put_question("q0")
    job = queue.take_round(max_groups=4, max_cameras=4, max_questions=4, timeout=0, appends_first=True)
    assert isinstance(job, AppendRound) and job.batches[0].camera_id == "cam"
    assert queue.take_round(max_groups=4, max_cameras=4, max_questions=4, timeout=0, appends_first=True) == ["q0"]


def _ask(camera: str, questions: tuple[str, ...], kind: AskKind = AskKind.YES_NO) -> AskJob:
    return AskJob(camera, kind, questions, None, 3, Future(), 0.0)


def test_questions_of_several_cameras_in_one_forward_equal_each_asked_alone(
    tiny_model: VideoXL2, tmp_path: Path
) -> None:
    settings = EngineSettings(persist=False, chunk_groups=2, window_chunks=1, dense_chunks=1, top_k=0)
    worker = EngineWorker(tiny_model, settings, tmp_path, JobQueue(capacity=1000, max_lag_s=1e9))
    questions = ("Is the belt jammed?", "Is a person in the zone?", "Is it dark?")
    with torch.inference_mode():
        for n, cam in enumerate(("a", "b", "c")):  # different amounts of video: different view lengths
            for i in range(2 * n + 1):
                worker.handle(AppendRound((GroupBatch(cam, (_pending(cam, i, seed=7 * n),)),)))
        together = [_ask(cam, questions[: k + 1]) for k, cam in enumerate(("a", "b", "c"))]
        text = _ask("b", ("What is on the belt?",), AskKind.TEXT)
        nobody = _ask("nobody", questions)
        worker.handle([*together, text, nobody])
        alone = [_ask(cam, questions[: k + 1]) for k, cam in enumerate(("a", "b", "c"))]
        for job in alone:
            worker.handle([job])
    for batched, single in zip(together, alone, strict=True):
        a, b = batched.future.result(timeout=0), single.future.result(timeout=0)
        assert isinstance(a, YesNoAnswer) and isinstance(b, YesNoAnswer)
        assert len(a.p_yes) == len(b.p_yes) and max(abs(x - y) for x, y in zip(a.p_yes, b.p_yes, strict=True)) <= 1e-5
    assert isinstance(text.future.result(timeout=0), TextAnswer)
    with pytest.raises(EngineError, match="'nobody'"):  # one camera's error fails only its own asker
        nobody.future.result(timeout=0)
