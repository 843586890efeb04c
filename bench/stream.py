"""Streaming engine cost: appending a chunk, a yes/no question with the cache vs re-encoding and re-prefilling the
window, batched questions, the relevance pass, and KV bytes per camera (store, cached view, dense copies).

    .venv/bin/python bench/stream.py                                   # bench preset on CPU, windows 1,5,10 min
    .venv/bin/python bench/stream.py --preset tiny --windows 1,5
    .venv/bin/python bench/stream.py --preset videoxl2 --random-weights --device cuda --dtype bfloat16

One session per window mark streams up to it at --fps; the question costs of every mark are then measured in
interleaved rounds (one warm-up round, then --repeats), so machine drift does not bias the growth between marks.
Every figure is the median of the --repeats timed calls, with the spread (min-max) beside it.
Times are process CPU time on the CPU (the figure is a CPU budget, and other work on a shared machine does not
inflate it; use --threads 1 so CPU time is latency) and wall time with the device synchronised on a GPU.
The re-prefill baseline is what a camera without the cache pays: re-encoding every frame of the window (measured,
not extrapolated) plus a fresh session prefilling them and asking; it is warmed up once, then timed
--baseline-repeats times at each mark. Streamed groups reuse a few encoded groups' embeddings: KV values do not
change what a forward costs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from common import load_bench_model, model_parser, sync

from engine.asking import ViewPlanner
from engine.model import VideoXL2
from engine.persist import ChunkFiles
from engine.question_lanes import yes_no_lanes
from engine.records import EncodedGroup
from engine.session import SessionShape, StreamSession
from engine.tier import DenseTier

QUESTIONS = [
    f"Is {thing} {state}?"
    for thing in ("the conveyor belt", "a person", "the loading door", "a forklift", "a box", "the robot arm",
                  "the emergency light", "smoke")
    for state in ("visible", "moving", "stopped", "in the restricted zone")
]


@dataclass(frozen=True)
class Stat:
    """Median and spread of timed calls, in milliseconds."""

    median: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.median:.1f} ({self.low:.1f}-{self.high:.1f})"


def parse_args() -> argparse.Namespace:
    parser = model_parser(__doc__, "bench")
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--windows", default="1,5,10", help="window marks in minutes")
    parser.add_argument("--batches", default="1,8,32", help="yes/no batch sizes at the largest window")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls after one warm-up")
    parser.add_argument("--baseline-repeats", type=int, default=3, help="timed re-encode + re-prefill runs per mark")
    parser.add_argument("--chunk-groups", type=int, default=4)
    parser.add_argument("--window-chunks", type=int, default=3)
    parser.add_argument("--dense-chunks", type=int, default=4)
    parser.add_argument("--top-k", type=int, default=2)
    return parser.parse_args()


def clock(device: torch.device) -> Callable[[], float]:
    return time.perf_counter if device.type == "cuda" else time.process_time


def measure(fn: Callable[[], object], device: torch.device, repeats: int, warmup: bool = True,
            setup: Callable[[], object] | None = None) -> Stat:
    """Median and spread (ms) of `repeats` calls of fn, each after `setup` (untimed), after one warm-up call."""
    now, samples = clock(device), []
    for i in range(repeats + int(warmup)):
        if setup is not None:
            setup()
        sync(device)
        start = now()
        fn()
        sync(device)
        if i >= int(warmup):
            samples.append((now() - start) * 1000)
    return Stat(statistics.median(samples), min(samples), max(samples))


def random_frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (360, 640, 3), dtype=np.uint8) for _ in range(n)]


def stream_groups(vis: torch.Tensor, count: int, first: int, fps: float) -> list[EncodedGroup]:
    span = 4.0 / fps
    return [EncodedGroup(span * i, span * i + span * 0.75, vis[i % vis.shape[0]]) for i in range(first, first + count)]


class Stream:
    """The benchmarked camera: its session, dense tier and planner, and how many groups it has taken."""

    def __init__(self, model: VideoXL2, shape: SessionShape, files: ChunkFiles, vis: torch.Tensor, top_k: int,
                 fps: float) -> None:
        self.model, self.vis, self.fps = model, vis, fps
        self.session = StreamSession("bench", model, shape, files)
        self.tier, self.planner = DenseTier(files, top_k), ViewPlanner(model, top_k)
        self.groups = 0
        self.append_ms: list[float] = []

    def append(self, count: int, record: bool = True) -> None:
        now = clock(self.model.device)
        for group in stream_groups(self.vis, count, self.groups, self.fps):
            sync(self.model.device)
            start = now()
            self.session.append([group])
            sync(self.model.device)
            if record:
                self.append_ms.append((now() - start) * 1000)
        self.groups += count

    def ask(self, questions: list[str], planner: ViewPlanner | None = None) -> list[float]:
        return (planner or self.planner).yes_no(self.session, questions, None, self.tier)[0]


KINDS = ("after_append", "cached", "rebuilt", "new", "relevance_new")


def question_calls(stream: Stream) -> dict[str, tuple[Callable[[], object], Callable[[], object] | None]]:
    """One yes/no question in four situations, and the relevance pass of a never-asked question, as (timed call,
    untimed setup), in an order where each situation follows from the one before:

    after_append: one group appended since the last question (the cached view is extended, not rebuilt);
    cached: the view is built and the query memoized (a rule asking again before the next append);
    rebuilt: the view built from scratch (what every first question after an append paid before views were
    extended); new: a question never asked, with its selected chunks read back from disk."""
    model, question = stream.model, QUESTIONS[:1]

    def fresh() -> ViewPlanner:
        stream.tier.clear()
        return ViewPlanner(model, stream.planner.top_k)

    def relevance() -> object:
        pooled = [rec for rec in stream.session.views() if rec.sparse]
        return ViewPlanner(model, stream.planner.top_k).scores(stream.session, pooled, question)

    return {
        "after_append": (lambda: stream.ask(question), lambda: stream.append(1, record=False)),
        "cached": (lambda: stream.ask(question), None),
        "rebuilt": (lambda: stream.ask(question), lambda: stream.planner.forget("bench")),
        "new": (lambda: stream.ask(question, fresh()), None),
        "relevance_new": (relevance, None),
    }


def question_costs(streams: list[Stream], repeats: int) -> list[dict[str, Stat]]:
    """Costs per stream, measured in interleaved rounds (every stream and situation once per round, after one
    warm-up round), so a slower or faster spell of a shared machine falls on every window alike and the growth
    between windows is not an artefact of when each was measured."""
    device = streams[0].model.device
    calls = [question_calls(stream) for stream in streams]
    samples: list[dict[str, list[float]]] = [{kind: [] for kind in KINDS} for _ in streams]
    for round_ in range(repeats + 1):
        for per_stream, out in zip(calls, samples, strict=True):
            for kind in KINDS:
                fn, setup = per_stream[kind]
                ms = measure(fn, device, 1, warmup=False, setup=setup)
                if round_:
                    out[kind].append(ms.median)
    return [{kind: Stat(statistics.median(v), min(v), max(v)) for kind, v in out.items()} for out in samples]


def baseline(model: VideoXL2, shape: SessionShape, frames: int, groups: list[EncodedGroup], repeats: int,
             warmup: bool) -> Stat:
    """No cache: re-encode every frame of the window, prefill a fresh session with it, then ask."""
    images = random_frames(min(frames, 64))

    def run() -> None:
        for start in range(0, frames, 64):  # encode in passes of at most 64 frames, like the engine's batches
            model.encode_groups(model.preprocess(images[: min(64, frames - start)]))
        session = StreamSession("baseline", model, shape)
        for start in range(0, len(groups), shape.chunk_groups):
            session.append(groups[start : start + shape.chunk_groups])
        ViewPlanner(model, 0).yes_no(session, QUESTIONS[:1], None, None)

    return measure(run, model.device, repeats, warmup=warmup)


def main() -> None:
    args = parse_args()
    model = load_bench_model(args)
    marks = sorted(int(m) for m in args.windows.split(","))
    shape = SessionShape(args.chunk_groups, args.window_chunks, args.dense_chunks, marks[-1] * 60.0, args.fps)
    vis = model.encode_groups(model.preprocess(random_frames(8)))  # [2, V, D], reused for every streamed group
    frames_per_chunk = 4 * args.chunk_groups
    encode_chunk = measure(lambda: model.encode_groups(model.preprocess(random_frames(frames_per_chunk))),
                           model.device, max(1, args.repeats // 2))
    print(f"model {model.spec.preset} ({args.device}, {args.dtype}, {args.threads} threads); fps {args.fps}; "
          f"chunk {args.chunk_groups} groups, window {args.window_chunks}, dense {args.dense_chunks}, "
          f"top-k {args.top_k}; {args.repeats} repeats after a warm-up, median (min-max) ms, "
          f"{'wall' if model.device.type == 'cuda' else 'process CPU'} time")
    print(f"encode one chunk ({frames_per_chunk} frames): {encode_chunk}")
    with tempfile.TemporaryDirectory() as tmp:
        streams = []
        for minutes in marks:  # one camera per window mark, streamed up to it
            files = ChunkFiles(Path(tmp) / str(minutes), "bench", model.spec.fingerprint, model.device)
            streams.append(Stream(model, shape, files, vis, args.top_k, args.fps))
            streams[-1].append(int(minutes * 60 * args.fps / 4))
        run_marks(args, streams, shape, marks, encode_chunk)


def run_marks(args: argparse.Namespace, streams: list[Stream], shape: SessionShape, marks: list[int],
              encode_chunk: Stat) -> None:
    groups = [stream.groups for stream in streams]
    rows = list(zip(marks, question_costs(streams, args.repeats), strict=True))
    for index, ((minutes, costs), stream) in enumerate(zip(rows, streams, strict=True)):
        view = stream.planner.view(stream.session, QUESTIONS[:1], None, stream.tier)
        base = baseline(stream.model, shape, 4 * groups[index], stream_groups(stream.vis, groups[index], 0, args.fps),
                        args.baseline_repeats, warmup=index == 0)
        print_mark(minutes, groups[index], stream, view.length, costs, base)
    print_appends(streams[-1].append_ms, args.chunk_groups, encode_chunk)
    print_ratios(rows)
    print_batches(streams[-1], args)
    print_camera_batches(streams, marks, args)
    print_bytes(streams[-1], args.fps)


def print_mark(minutes: int, groups: int, stream: Stream, view_tokens: int, c: dict[str, Stat], base: Stat) -> None:
    print(f"\n[{minutes} min window: {groups} groups (+{stream.groups - groups} appended while timing), "
          f"{len(stream.session.store)} chunks, "
          f"{stream.session.tokens()} tokens in memory, view {view_tokens} tokens]")
    print(f"  yes/no with the cache: cached view {c['cached']} | first after an append (view extended) "
          f"{c['after_append']} | view rebuilt {c['rebuilt']} | new question, chunks from disk {c['new']}")
    print(f"    relevance pass of a new question {c['relevance_new']} (memoized afterwards)")
    print(f"  without the cache: re-encode {groups * 4} frames + re-prefill + ask {base}  -> "
          f"{base.median / c['after_append'].median:,.0f}x the first question after an append "
          f"({base.low / c['after_append'].high:,.0f}x-{base.high / c['after_append'].low:,.0f}x)")


def print_appends(append_ms: list[float], chunk_groups: int, encode_chunk: Stat) -> None:
    steady = append_ms[len(append_ms) // 2 :]
    per_chunk = statistics.median(steady) * chunk_groups
    print(f"\nappend one chunk (steady state, group by group): prefill {per_chunk:.1f} ms + encode "
          f"{encode_chunk.median:.1f} ms; p90 group prefill {np.percentile(steady, 90):.1f} ms")


def print_ratios(rows: list[tuple[int, dict[str, Stat]]]) -> None:
    first, last = rows[0][1], rows[-1][1]
    kinds = ("cached", "after_append", "rebuilt", "new")
    growth = ", ".join(f"{kind} {last[kind].median / first[kind].median:.2f}x" for kind in kinds)
    print(f"yes/no latency growth {rows[0][0]} -> {rows[-1][0]} min: {growth} (target: after_append <= 1.3x)")


def print_batches(stream: Stream, args: argparse.Namespace) -> None:
    print("\nbatched yes/no (each question on its own selection's view; questions sharing one share a forward):")
    for size in (int(b) for b in args.batches.split(",")):
        questions = QUESTIONS[:size]
        views = len({frozenset(stream.planner.select(stream.session, stream.session.views(), [q]))
                     for q in questions})
        ms = measure(lambda q=questions: stream.ask(q), stream.model.device, args.repeats)  # type: ignore[misc]
        print(f"  {size:3d} questions, {views} distinct views: {ms} ms total, {ms.median / size:.2f} ms per question")


def print_camera_batches(streams: list[Stream], marks: list[int], args: argparse.Namespace) -> None:
    """The service's batch of several cameras' questions (one per window mark's camera, each on its own view):
    padded lanes (every view copied into one scratch) against attention to each view in place, interleaved."""
    asks = [(stream.planner.view(stream.session, QUESTIONS[:1], None, stream.tier), QUESTIONS[:1])
            for stream in streams]
    model = streams[0].model
    samples: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.repeats + 1):
        for padded in (True, False):
            samples[padded].append(measure(lambda p=padded: yes_no_lanes(model, asks, padded=p),  # type: ignore[misc]
                                           model.device, 1, warmup=False).median)
    padded, in_place = (Stat(statistics.median(v[1:]), min(v[1:]), max(v[1:])) for v in samples.values())
    print(f"\n{len(asks)} cameras' yes/no in one forward (views of {', '.join(f'{m} min' for m in marks)}): padded "
          f"lanes {padded} ms | each view in place {in_place} ms ({padded.median / in_place.median:.2f}x)")


def print_bytes(stream: Stream, fps: float) -> None:
    session = stream.session
    dense = [rec for rec in session.store.records if not rec.sparse]
    per_group = sum(rec.nbytes for rec in dense) / sum(rec.layout.groups for rec in dense)
    hour = per_group * 3600 * fps / 4
    store, views, tier = session.nbytes(), stream.planner.view_bytes("bench"), stream.tier.nbytes()
    print(f"\nKV bytes: {per_group / 2**20:.2f} MiB per dense group; {hour / 2**30:.2f} GiB per camera-hour dense "
          f"(disk tier); in memory for {session.shape.retention_s / 60:.0f} min retained: store {store / 2**20:.1f} "
          f"MiB + cached views {views / 2**20:.1f} MiB + dense copies {tier / 2**20:.1f} MiB = "
          f"{(store + views + tier) / 2**20:.1f} MiB ({session.tokens()} tokens stored, "
          f"{(store + views + tier) / max(1, session.tokens()):.0f} bytes per stored token)")


if __name__ == "__main__":
    main()
