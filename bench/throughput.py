"""Many cameras on one engine thread: aggregate frames/s batched vs one camera at a time, question latency under full
ingest load vs idle, KV bytes per camera, and how many cameras fit one 80 GB accelerator with the released model.

    .venv/bin/python bench/throughput.py --preset tiny
    .venv/bin/python bench/throughput.py --preset bench --cameras 1,4,16,64 --encode-pass-groups 1 --batch-tokens 640
    .venv/bin/python bench/throughput.py --preset videoxl2 --random-weights --device cuda --dtype bfloat16 \\
        --encode-pass-groups 64 --batch-tokens 16384

Throughput: N cameras each deliver `--groups-per-round` groups (4 frames each) per round, as live cameras do; the
same sessions take rounds alternately batched (every camera in one EngineWorker round) and one at a time (one round
per camera), so both modes see the same contexts and the same machine load. The whole engine path is timed:
preprocess, vision, DTS, projector, prefill, sealing, status. Frames/s is wall time; CPU-s is process CPU time.

Latency: the engine thread runs as in the service; `--askers` threads ask yes/no questions in a closed loop on the
cameras in turn, first with no ingest (idle), then while a feeder keeps every camera's queue non-empty (full load).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np
import torch
from common import load_bench_model, model_parser, sync

from config.engine import EngineSettings
from engine.asking import ViewPlanner
from engine.intake import PendingGroup, shrink
from engine.layers import lm_dims
from engine.model import VideoXL2, build_skeleton, preset_spec
from engine.records import EncodedGroup
from engine.scheduler import AppendRound, GroupBatch, JobQueue
from engine.session import SessionShape, StreamSession
from engine.worker import AskJob, AskKind, EngineWorker

QUESTIONS = ["Is the conveyor belt jammed?", "Is a person in the restricted zone?", "Are boxes piling up?",
             "Is the loading door open?"]
GPU_BYTES = 80e9
RELEASED_KV_BYTES = 2  # bf16


def parse_args() -> argparse.Namespace:
    parser = model_parser(__doc__, "tiny")
    parser.add_argument("--cameras", default="1,4,16,64", help="camera counts for the throughput table")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per mode and camera count")
    parser.add_argument("--groups-per-round", type=int, default=1, help="groups each camera delivers per round")
    parser.add_argument("--history-groups", type=int, default=4, help="groups streamed before timing")
    parser.add_argument("--encode-pass-groups", type=int, default=8)
    parser.add_argument("--batch-tokens", type=int, default=8192)
    parser.add_argument("--latency-cameras", type=int, default=16)
    parser.add_argument("--latency-history-s", type=float, default=120.0, help="video each camera holds")
    parser.add_argument("--questions", type=int, default=60, help="questions per phase (idle, load)")
    parser.add_argument("--askers", type=int, default=4, help="concurrent askers (questions batch across cameras)")
    parser.add_argument("--retention-s", type=float, default=600.0, help="retention for the KV-bytes measurement")
    parser.add_argument("--skip", default="", help="comma list of parts to skip: throughput,latency,bytes")
    return parser.parse_args()


def settings(args: argparse.Namespace, retention_s: float = 600.0) -> EngineSettings:
    # model/device fields are not read by the worker (the model is passed in); memory only, so no top-k read-back
    return EngineSettings(persist=False, top_k=0, chunk_groups=4, window_chunks=3, dense_chunks=4,
                          retention_s=retention_s,
                          batch_tokens=args.batch_tokens, encode_pass_groups=args.encode_pass_groups,
                          queue_size=100000, max_lag_s=3600.0)


class Cameras:
    """Synthetic live cameras: 360x640 frames (8 distinct ones reused), 1 fps, one group every 4 s each."""

    def __init__(self, n: int, image_size: int) -> None:
        rng = np.random.default_rng(0)
        self.ids = [f"cam{i:02d}" for i in range(n)]
        # shrunk as EngineClient's intake does on the ingest threads, before a group reaches the engine thread
        frames = [rng.integers(0, 256, (360, 640, 3), dtype=np.uint8) for _ in range(8)]
        self._images = [shrink(image, 2 * image_size) for image in frames]
        self._next = dict.fromkeys(self.ids, 0)

    def group(self, camera: str) -> PendingGroup:
        i = self._next[camera]
        self._next[camera] = i + 1
        images = tuple(self._images[(4 * i + k) % len(self._images)] for k in range(4))
        return PendingGroup(camera, images, 4.0 * i, 4.0 * i + 3.0)

    def batches(self, groups: int) -> list[GroupBatch]:
        return [GroupBatch(cam, tuple(self.group(cam) for _ in range(groups))) for cam in self.ids]


def timed(fn: Callable[[], None], device: torch.device) -> tuple[float, float]:
    """(wall s, process CPU s) of one call, device synchronised."""
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def throughput(model: VideoXL2, args: argparse.Namespace, n: int) -> dict[str, list[tuple[float, float]]]:
    worker = EngineWorker(model, settings(args), None, JobQueue(100000, 3600.0))
    cams = Cameras(n, model.spec.image_size)
    out: dict[str, list[tuple[float, float]]] = {"batched": [], "one at a time": []}
    with torch.inference_mode():
        worker.handle(AppendRound(tuple(cams.batches(args.history_groups))))
        for r in range(args.rounds):
            for mode in (("batched", "one at a time") if r % 2 == 0 else ("one at a time", "batched")):
                batches = cams.batches(args.groups_per_round)
                rounds = [AppendRound(tuple(batches))] if mode == "batched" else [AppendRound((b,)) for b in batches]
                out[mode].append(timed(lambda rs=rounds: [worker.handle(job) for job in rs] and None, model.device))
    return out


def print_throughput(args: argparse.Namespace, n: int, out: dict[str, list[tuple[float, float]]]) -> None:
    frames = 4 * args.groups_per_round * n * args.rounds
    rates = {}
    for mode, samples in out.items():
        wall, cpu = sum(s[0] for s in samples), sum(s[1] for s in samples)
        rates[mode] = (frames / wall, frames / cpu)
    b, o = rates["batched"], rates["one at a time"]
    print(f"  {n:3d} cameras: batched {b[0]:8.1f} frames/s ({b[1]:7.1f} per CPU-s) | one at a time {o[0]:8.1f} "
          f"frames/s ({o[1]:7.1f} per CPU-s) | batched/one-at-a-time {b[0] / o[0]:.2f}x wall, {b[1] / o[1]:.2f}x CPU")


class Asker(threading.Thread):
    """Asks yes/no questions in a closed loop (the next once the last is answered) until `enough` says so."""

    def __init__(self, queue: JobQueue, cameras: list[str], offset: int, enough: Callable[[int], bool],
                 lock: threading.Lock, latencies: list[tuple[float, float]], engine_clock: int) -> None:
        super().__init__(daemon=True)
        self.queue, self.cameras, self.offset, self.enough = queue, cameras, offset, enough
        self.lock, self.latencies, self.engine_clock = lock, latencies, engine_clock

    def run(self) -> None:
        k = self.offset
        while True:
            with self.lock:
                if self.enough(len(self.latencies)):
                    return
            future: Future[object] = Future()
            job = AskJob(self.cameras[k % len(self.cameras)], AskKind.YES_NO, (QUESTIONS[k % len(QUESTIONS)],),
                         None, 1, future, time.perf_counter())  # type: ignore[arg-type]
            engine_cpu = time.clock_gettime(self.engine_clock)
            self.queue.put_question(job)
            answer = future.result(timeout=600)
            engine_ms = (time.clock_gettime(self.engine_clock) - engine_cpu) * 1000
            with self.lock:
                self.latencies.append((float(answer.latency_ms), engine_ms))  # type: ignore[attr-defined]
            k += len(self.cameras) // 2 + 1


def ask_phase(queue: JobQueue, cams: Cameras, args: argparse.Namespace, enough: Callable[[int], bool],
              engine_clock: int) -> list[tuple[float, float]]:
    """(wall ms, engine-thread CPU ms) from submit to answer, per question. The second is what the engine thread
    itself spent meanwhile (the step it had to finish, other questions of the batch, this one): on a machine the
    engine has to itself it is the latency; on a shared one it is the figure that other tenants cannot inflate."""
    latencies: list[tuple[float, float]] = []
    lock = threading.Lock()
    askers = [Asker(queue, cams.ids, i, enough, lock, latencies, engine_clock) for i in range(args.askers)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    return latencies


def feeder(queue: JobQueue, cams: Cameras, stop: threading.Event) -> None:
    """Full ingest load: every camera always has two groups waiting."""
    while not stop.is_set():
        for cam in cams.ids:
            while queue.depth(cam) < 2:
                queue.put_group(cams.group(cam))
        time.sleep(0.005)


def wait_drained(queue: JobQueue, cams: Cameras, worker: EngineWorker, groups: int) -> None:
    while any(queue.depth(c) for c in cams.ids) or any(
        (s := worker.stats(c)) is None or s.groups_encoded < groups for c in cams.ids
    ):
        time.sleep(0.05)


def latency(model: VideoXL2, args: argparse.Namespace) -> None:
    queue = JobQueue(100000, 3600.0)
    worker = EngineWorker(model, settings(args).model_copy(update={"batch_cameras": args.latency_cameras}), None,
                          queue)
    cams = Cameras(args.latency_cameras, model.spec.image_size)
    history = max(1, int(args.latency_history_s / 4))
    for cam in cams.ids:
        for _ in range(history):
            queue.put_group(cams.group(cam))
    worker.start()
    clock = time.pthread_getcpuclockid(worker.thread_id)
    wait_drained(queue, cams, worker, history)
    ask_phase(queue, cams, args, lambda n: n >= 2 * len(QUESTIONS), clock)  # warm-up: relevance queries memoized
    idle = ask_phase(queue, cams, args, lambda n: n >= args.questions, clock)
    stop = threading.Event()
    feed = threading.Thread(target=feeder, args=(queue, cams, stop), daemon=True)
    before, started = encoded(worker, cams), time.perf_counter()
    feed.start()
    # under load until enough questions AND two groups of every camera went in (the load really was there)
    loaded = ask_phase(queue, cams, args, lambda n: n >= args.questions and
                       encoded(worker, cams) - before >= 2 * len(cams.ids), clock)
    rate = 4 * (encoded(worker, cams) - before) / (time.perf_counter() - started)
    stop.set()
    feed.join()
    queue.close()
    worker.join()
    print_latency(args, history, idle, loaded, rate, worker, cams)


def encoded(worker: EngineWorker, cams: Cameras) -> int:
    return sum(s.groups_encoded for c in cams.ids if (s := worker.stats(c)) is not None)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def print_latency(args: argparse.Namespace, history: int, idle: list[tuple[float, float]],
                  loaded: list[tuple[float, float]], rate: float, worker: EngineWorker, cams: Cameras) -> None:
    print(f"\nyes/no latency, {args.latency_cameras} cameras with {history * 4:.0f} s of video each, {args.askers} "
          f"askers, {args.questions} questions per phase, from submit to answer (ms; wall | engine-thread CPU):")
    for name, samples in (("idle", idle), ("full load", loaded)):
        wall, cpu = [s[0] for s in samples], [s[1] for s in samples]
        print(f"  {name:9s}: wall p50 {pct(wall, 50):7.1f} p99 {pct(wall, 99):7.1f} | engine CPU p50 "
              f"{pct(cpu, 50):7.1f} p99 {pct(cpu, 99):7.1f} max {max(cpu):7.1f}")
    ratio = [pct([s[i] for s in loaded], 99) / pct([s[i] for s in idle], 99) for i in (0, 1)]
    print(f"  p99 under load / p99 idle: wall {ratio[0]:.2f}x, engine CPU {ratio[1]:.2f}x (target <= 3x); ingest "
          f"during the load phase {rate:.1f} frames/s (wall)")
    kv = [worker.stats(c).kv_bytes for c in cams.ids]  # type: ignore[union-attr]
    print(f"  KV bytes per camera at the end (store + open chunk + cached view + dense tier): median "
          f"{statistics.median(kv) / 2**20:.2f} MiB")


def per_camera_bytes(model: VideoXL2, args: argparse.Namespace) -> None:
    """One camera streamed for the whole retention window (visual embeddings reused: KV values do not change its
    size), then one question: tokens and bytes it holds, and the same token layout at the released dimensions."""
    shape = SessionShape(4, 3, 4, args.retention_s, 1.0)
    session = StreamSession("bytes", model, shape)
    vis = torch.zeros(int(model.spec.tokens_per_group), lm_dims(model.lm).hidden, dtype=model.dtype,
                      device=model.device)
    with torch.inference_mode():
        for i in range(int(args.retention_s / 4) + 8):
            session.append([EncodedGroup(4.0 * i, 4.0 * i + 3.0, vis)])
        view = ViewPlanner(model, 2).view(session, QUESTIONS[:1], None, None)
    dims = lm_dims(model.lm)
    per_token = dims.layers * dims.kv_heads * dims.head_dim * 2 * model.dtype.itemsize
    measured = session.nbytes()
    print(f"\nKV per camera, {args.retention_s / 60:.0f} min retained at 1 fps ({model.spec.preset}, "
          f"{str(model.dtype).removeprefix('torch.')}): {session.tokens()} tokens, {measured / 2**20:.2f} MiB in the "
          f"store ({measured / session.tokens():.0f} B/token measured, {per_token} B/token from the dimensions); a "
          f"question view adds {view.length} tokens, {view.nbytes / 2**20:.2f} MiB")
    capacity_line(model, session.tokens(), view.length)


def capacity_line(model: VideoXL2, tokens: int, view_tokens: int) -> None:
    spec = preset_spec("videoxl2")
    if model.spec.tokens_per_group != spec.tokens_per_group:
        print(f"  (capacity line needs {spec.tokens_per_group} tokens per group: run with --preset bench or videoxl2)")
        return
    per_token = spec.num_layers * spec.num_kv_heads * spec.head_dim * 2 * RELEASED_KV_BYTES
    weights = sum(p.numel() for p in build_skeleton(spec).parameters()) * RELEASED_KV_BYTES
    working = 10e9  # activations, batched-prefill scratch (window contexts of a sub-batch), allocator slack
    store, with_view = tokens * per_token, (tokens + view_tokens) * per_token
    free = GPU_BYTES - weights - working
    print(f"  released dims (bf16, {per_token:,} B/token): {store / 1e9:.3f} GB per camera in the store, "
          f"{with_view / 1e9:.3f} GB with a cached question view; weights {weights / 1e9:.1f} GB, working memory "
          f"{working / 1e9:.0f} GB reserved")
    print(f"  capacity of one 80 GB GPU at 1 fps with 10 min retention: {int(free // store)} cameras (store only), "
          f"{int(free // with_view)} cameras if each keeps a question view")


def main() -> None:
    args = parse_args()
    model = load_bench_model(args)
    skip = set(args.skip.split(","))
    print(f"model {model.spec.preset} ({args.device}, {args.dtype}, {args.threads} threads); chunk 4 groups, window "
          f"3, encode pass {args.encode_pass_groups} groups, prefill <= {args.batch_tokens} tokens per forward")
    if "throughput" not in skip:
        print(f"\naggregate throughput, {args.groups_per_round} group(s) per camera per round, {args.rounds} rounds "
              "per mode (alternating):")
        for n in (int(c) for c in args.cameras.split(",")):
            print_throughput(args, n, throughput(model, args, n))
    if "latency" not in skip:
        latency(model, args)
    if "bytes" not in skip:
        per_camera_bytes(model, args)


if __name__ == "__main__":
    main()
