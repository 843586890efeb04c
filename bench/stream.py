"""Streaming engine cost: appending a chunk, a yes/no question with the cache vs re-encoding and re-prefilling the
window, batched questions, the relevance pass, and KV bytes per camera-hour.

    .venv/bin/python bench/stream.py                                   # bench preset on CPU, windows 1,5,10 min
    .venv/bin/python bench/stream.py --preset tiny --windows 1,5
    .venv/bin/python bench/stream.py --preset videoxl2 --random-weights --device cuda --dtype bfloat16

One session streams up to the largest window at --fps; at each window mark the question costs are measured on it.
The re-prefill baseline is a fresh session prefilling the same groups (measured) plus re-encoding their frames
(measured per chunk, multiplied by the number of chunks: groups are encoded independently, so the cost is linear;
--full-reencode measures it instead). Streamed groups reuse a few encoded groups' embeddings: KV values do not
change what a forward costs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import load_bench_model, model_parser, sync, timed

from engine.asking import ViewPlanner
from engine.model import VideoXL2
from engine.persist import ChunkFiles
from engine.questions import yes_no
from engine.records import EncodedGroup
from engine.session import SessionShape, StreamSession
from engine.tier import DenseTier

QUESTIONS = [
    f"Is {thing} {state}?"
    for thing in ("the conveyor belt", "a person", "the loading door", "a forklift", "a box", "the robot arm",
                  "the emergency light", "smoke")
    for state in ("visible", "moving", "stopped", "in the restricted zone")
]


def parse_args() -> argparse.Namespace:
    parser = model_parser(__doc__, "bench")
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--windows", default="1,5,10", help="window marks in minutes")
    parser.add_argument("--batches", default="1,8,32", help="yes/no batch sizes at the largest window")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls after one warm-up")
    parser.add_argument("--chunk-groups", type=int, default=4)
    parser.add_argument("--window-chunks", type=int, default=3)
    parser.add_argument("--dense-chunks", type=int, default=4)
    parser.add_argument("--top-k", type=int, default=2)
    parser.add_argument("--full-reencode", action="store_true", help="measure re-encoding every window frame")
    return parser.parse_args()


def random_frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (360, 640, 3), dtype=np.uint8) for _ in range(n)]


def encode_seconds(model: VideoXL2, frames: int, repeats: int) -> float:
    images = random_frames(frames)
    return timed(lambda: model.encode_groups(model.preprocess(images)), model.device, repeats)


def stream_groups(model: VideoXL2, vis: torch.Tensor, count: int, first: int, fps: float) -> list[EncodedGroup]:
    span = 4.0 / fps
    return [EncodedGroup(span * i, span * i + span * 0.75, vis[i % vis.shape[0]]) for i in range(first, first + count)]


def model_device(model: object) -> torch.device:
    device: torch.device = getattr(model, "device", torch.device("cpu"))
    return device


def rebuild(planner: ViewPlanner, session: StreamSession, question: list[str], tier: DenseTier) -> None:
    planner.forget(session.camera_id)
    planner.view(session, question, None, tier)


def question_costs(planner: ViewPlanner, session: StreamSession, tier: DenseTier, repeats: int) -> dict[str, float]:
    """Median ms of one yes/no question in three situations, and of its parts.

    cached: the camera's view is already built (another question since the last append) and the relevance query
    memoized (a rule asking again); rebuilt: first question after an append; new: a question never asked before,
    with the selected chunks read back from disk."""
    model, question, camera = planner.model, QUESTIONS[:1], session.camera_id
    device = model_device(model)
    pooled = [rec for rec in session.views() if rec.sparse]

    def ask(fresh_view: bool, new_question: bool) -> None:
        who = ViewPlanner(model, planner.top_k) if new_question else planner
        if fresh_view:
            who.forget(camera)
        if new_question:
            tier.clear()
        yes_no(model, who.view(session, question, None, tier), question)

    out = {
        "cached": timed(lambda: ask(False, False), device, repeats),
        "rebuilt": timed(lambda: ask(True, False), device, repeats),
        "new": timed(lambda: ask(True, True), device, repeats),
        "relevance_new": timed(lambda: ViewPlanner(model, planner.top_k).scores(session, pooled, question), device,
                               repeats) if pooled else 0.0,
        "build": timed(lambda: rebuild(planner, session, question, tier), device, repeats),
    }
    view = planner.view(session, question, None, tier)
    out["forward"] = timed(lambda: yes_no(model, view, question), device, repeats)
    out = {k: v * 1000 for k, v in out.items()}
    out["view_tokens"] = float(view.length)
    return out


def reprefill_seconds(model: VideoXL2, shape: SessionShape, groups: list[EncodedGroup]) -> float:
    """A fresh session prefilling every group of the window, then the question: the no-cache baseline (LM part)."""
    def run() -> None:
        session = StreamSession("baseline", model, shape)
        for start in range(0, len(groups), shape.chunk_groups):
            session.append(groups[start : start + shape.chunk_groups])
        yes_no(model, ViewPlanner(model, 0).view(session, QUESTIONS[:1], None, None), QUESTIONS[:1])
    return timed(run, model.device, 1, warmup=False)


def main() -> None:
    args = parse_args()
    model = load_bench_model(args)
    marks = sorted(int(m) for m in args.windows.split(","))
    shape = SessionShape(args.chunk_groups, args.window_chunks, args.dense_chunks, marks[-1] * 60.0, args.fps)
    frames_per_chunk = 4 * args.chunk_groups
    encode_chunk = encode_seconds(model, frames_per_chunk, max(1, args.repeats // 2))
    vis = model.encode_groups(model.preprocess(random_frames(8)))  # [2, V, D], reused for every streamed group
    print(f"model {model.spec.preset} ({args.device}, {args.dtype}, {args.threads} threads); fps {args.fps}; "
          f"chunk {args.chunk_groups} groups, window {args.window_chunks}, dense {args.dense_chunks}, "
          f"top-k {args.top_k}")
    print(f"encode one chunk ({frames_per_chunk} frames): {encode_chunk * 1000:.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        files = ChunkFiles(Path(tmp), "bench", model.spec.fingerprint, model.device)
        run_marks(args, model, shape, vis, files, encode_chunk, marks)


def run_marks(args: argparse.Namespace, model: VideoXL2, shape: SessionShape, vis: torch.Tensor,
              files: ChunkFiles, encode_chunk: float, marks: list[int]) -> None:
    session = StreamSession("bench", model, shape, files)
    tier, planner = DenseTier(files, args.top_k), ViewPlanner(model, args.top_k)
    streamed, append_ms, rows = 0, [], []
    for minutes in marks:
        target = int(minutes * 60 * args.fps / 4)
        for group in stream_groups(model, vis, target - streamed, streamed, args.fps):
            sync(model.device)
            start = time.perf_counter()
            session.append([group])
            sync(model.device)
            append_ms.append((time.perf_counter() - start) * 1000)
        streamed = target
        costs = question_costs(planner, session, tier, args.repeats)
        lm_baseline = reprefill_seconds(model, shape, stream_groups(model, vis, target, 0, args.fps))
        chunks = target / args.chunk_groups
        encode = encode_seconds(model, 4 * target, 1) if args.full_reencode else encode_chunk * chunks
        rows.append((minutes, target, session, costs, lm_baseline, encode))
        print_mark(minutes, target, session, costs, lm_baseline, encode)
    print_appends(append_ms, args.chunk_groups, encode_chunk)
    print_ratios(rows)
    print_batches(model, planner, session, tier, args)
    print_bytes(session, args.fps)


def print_mark(minutes: int, groups: int, session: StreamSession, c: dict[str, float], lm: float, enc: float) -> None:
    baseline = (lm + enc) * 1000
    print(f"\n[{minutes} min window: {groups} groups, {len(session.store)} chunks, {session.tokens()} tokens in "
          f"memory, view {int(c['view_tokens'])} tokens]")
    print(f"  yes/no with the cache: {c['cached']:.1f} ms cached view | {c['rebuilt']:.1f} ms first after an append | "
          f"{c['new']:.1f} ms new question, chunks from disk")
    print(f"    parts: question forward {c['forward']:.1f}, view build {c['build']:.1f}, relevance of a new question "
          f"{c['relevance_new']:.1f} (memoized afterwards)")
    print(f"  without: re-encode {enc * 1000:.0f} ms + re-prefill and ask {lm * 1000:.0f} ms = {baseline:.0f} ms  "
          f"-> {baseline / c['rebuilt']:.0f}x the first question after an append")


def print_appends(append_ms: list[float], chunk_groups: int, encode_chunk: float) -> None:
    steady = append_ms[len(append_ms) // 2 :]
    per_chunk = statistics.median(steady) * chunk_groups
    print(f"\nappend one chunk (steady state, group by group): prefill {per_chunk:.1f} ms + encode "
          f"{encode_chunk * 1000:.1f} ms; p90 group prefill {np.percentile(steady, 90):.1f} ms")


def print_ratios(rows: list[tuple[int, int, StreamSession, dict[str, float], float, float]]) -> None:
    first, last = rows[0][3], rows[-1][3]
    growth = ", ".join(f"{kind} {last[kind] / first[kind]:.2f}x" for kind in ("cached", "rebuilt", "new"))
    print(f"yes/no latency growth {rows[0][0]} -> {rows[-1][0]} min: {growth} (target < 1.5x)")


def print_batches(model: VideoXL2, planner: ViewPlanner, session: StreamSession, tier: DenseTier,
                  args: argparse.Namespace) -> None:
    print("\nbatched yes/no on one shared view:")
    for size in (int(b) for b in args.batches.split(",")):
        questions = QUESTIONS[:size]

        def batch(q: list[str] = questions) -> None:
            yes_no(model, planner.view(session, q, None, tier), q)

        ms = 1000 * timed(batch, model.device, args.repeats)
        print(f"  {size:3d} questions: {ms:.1f} ms total, {ms / size:.2f} ms per question")


def print_bytes(session: StreamSession, fps: float) -> None:
    dense = [rec for rec in session.store.records if not rec.sparse]
    per_group = sum(rec.nbytes for rec in dense) / sum(rec.layout.groups for rec in dense)
    hour = per_group * 3600 * fps / 4
    print(f"\nKV bytes: {per_group / 2**20:.2f} MiB per dense group; {hour / 2**30:.2f} GiB per camera-hour dense "
          f"(disk tier); in memory now {session.nbytes() / 2**20:.1f} MiB for "
          f"{session.shape.retention_s / 60:.0f} min retained (pooled + dense)")


if __name__ == "__main__":
    main()
