"""`vigil replay VIDEO --config F --out alerts.jsonl`: the rules of one camera over a recorded file.

The file is decoded as fast as the CPU allows and sampled at the camera's fps; the rule runner runs on a
virtual clock that follows the frames' times, so `for`, `cooldown` and `every` mean video seconds. Question
rules are asked when the engine is enabled: each question waits until the video before it is in the cache.
Events are written as JSON lines, one AlertEvent each, in the order the rules emitted them.

Exit status: 0 when the whole file was read; EXIT_PARTIAL (3) when the file ended before the duration its
container states (truncated or damaged): the events found are written, a warning and the summary name the
seconds missing. Timestamp jumps in the file are re-based (ingest.sources.timeline) and named in the summary.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Generator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

import structlog

from alerts.clock import VirtualClock
from alerts.event import AlertEvent, EventType
from alerts.runner import RuleRunner
from config.cameras import CameraSettings
from config.errors import VigilError
from config.settings import VigilSettings
from engine.api import TextAnswer, YesNoAnswer
from engine.client import EngineClient
from ingest.buffer import FrameBuffer
from ingest.errors import SourceError
from ingest.frame import Frame
from ingest.sources.base import FileEnding
from ingest.sources.file import open_file_frames, video_seconds
from service.logging import configure_logging

log = structlog.get_logger(__name__)
EXIT_PARTIAL = 3  # the file was read only in part: events cover what was read


class JsonlSink:
    """The runner's EventSink: each event is a line, flushed, so an interrupted replay keeps what it found."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self.events: list[AlertEvent] = []

    async def publish(self, event: AlertEvent) -> None:
        self._out.write(event.to_json() + "\n")
        self._out.flush()
        self.events.append(event)


class CaughtUpEngine:
    """The engine as the runner sees it in a replay: a question waits for the groups handed over before it."""

    def __init__(self, client: EngineClient) -> None:
        self._client = client

    async def ask_yes_no(self, camera_id: str, questions: list[str], window_s: float | None = None) -> YesNoAnswer:
        await self._client.drained(camera_id)
        return await self._client.ask_yes_no(camera_id, questions, window_s)

    async def ask_text(self, camera_id: str, question: str, max_tokens: int = 64) -> TextAnswer:
        await self._client.drained(camera_id)
        return await self._client.ask_text(camera_id, question, max_tokens)


class Progress:
    """A one-line progress bar on stderr: video seconds done, and how much faster than real time."""

    WIDTH = 30

    def __init__(self, total_s: float | None, stream: IO[str] = sys.stderr) -> None:
        self._total, self._stream, self._tty = total_s, stream, stream.isatty()
        self._began = self._shown = time.monotonic()

    def update(self, done_s: float, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._shown < (0.2 if self._tty else 5.0):
            return
        self._shown = now
        speed = done_s / max(now - self._began, 1e-6)
        end = "\n" if final or not self._tty else ""
        self._stream.write(("\r" if self._tty else "") + self._line(done_s, speed, final) + end)
        self._stream.flush()

    def _line(self, done_s: float, speed: float, final: bool) -> str:
        if not self._total or done_s > self._total + 1.0:  # no stated length, or one that was wrong (joined files)
            return f"replay {done_s:7.1f} s of video  {speed:5.1f}x real time"
        # the final line shows the whole bar only when the file held what its index states (frames start a
        # frame interval before the end, hence the slack); a truncated file's bar stays where it stopped
        part = 1.0 if final and done_s >= self._total - 1.0 else min(1.0, done_s / self._total)
        bar = "#" * round(part * self.WIDTH)
        return (f"replay [{bar:<{self.WIDTH}}] {part:4.0%}  {done_s:.1f}/{self._total:.1f} s  "
                f"{speed:5.1f}x real time")


def replay(settings: VigilSettings, video: Path, out: Path, camera_id: str | None = None,
           start: datetime | None = None) -> int:
    """Run the rules of `camera_id` (default: the first enabled camera) over `video`; events to `out`."""
    configure_logging(settings.logging)
    camera = pick_camera(settings, camera_id)
    if not video.is_file():
        raise VigilError(f"replay: {video} is not a readable video file; give the path of a recorded file")
    t0 = start.timestamp() if start is not None else time.time()
    events, ending = asyncio.run(run_replay(settings, camera, video, out, t0))
    if ending is not None and ending.truncated:
        log.warning("replay.truncated", video=str(video), read_s=round(ending.read_s, 1),
                    stated_s=ending.stated_s, missing_s=round(ending.missing_s, 1))
    sys.stdout.write(summary(events, t0, out, ending) + "\n")
    return EXIT_PARTIAL if ending is not None and ending.truncated else 0


def pick_camera(settings: VigilSettings, camera_id: str | None) -> CameraSettings:
    enabled = [c for c in settings.cameras if c.enabled]
    if camera_id is None:
        if not enabled:
            raise VigilError("replay: the config has no enabled camera; add one or pass --camera")
        return enabled[0]
    for camera in enabled:
        if camera.id == camera_id:
            return camera
    raise VigilError(f"replay: no enabled camera {camera_id!r} in the config; known: {[c.id for c in enabled]}")


async def run_replay(settings: VigilSettings, camera: CameraSettings, video: Path, out: Path,
                     t0: float) -> tuple[list[AlertEvent], FileEnding | None]:
    """The events the rules emitted over `video`, and how the file ended (None if the replay was cut short)."""
    one_camera = settings.model_copy(update={"cameras": [camera]})
    with tempfile.TemporaryDirectory(prefix="vigil-replay-") as scratch, out.open("w", encoding="utf-8") as sink_file:
        engine = await _start_engine(settings, Path(scratch))
        sink = JsonlSink(sink_file)
        try:
            ending = await _drive(one_camera, camera, video, t0, engine, sink, Path(scratch))
        finally:
            if engine is not None:
                await asyncio.to_thread(engine.stop)
        return sink.events, ending


async def _start_engine(settings: VigilSettings, scratch: Path) -> EngineClient | None:
    if not settings.engine.enabled or not any(r.condition.type == "question" for r in settings.rules):
        return None
    # chunk files in the scratch directory: the dense tier that top-k read-back needs; deleted with it
    engine = EngineClient(settings.engine.model_copy(update={"persist": True}), scratch / "engine")
    await asyncio.to_thread(engine.start)
    return engine


async def _drive(settings: VigilSettings, camera: CameraSettings, video: Path, t0: float,
                 engine: EngineClient | None, sink: JsonlSink, scratch: Path) -> FileEnding | None:
    buffer = FrameBuffer(camera.id, max(1, round(camera.fps * camera.buffer_s)))
    clock = VirtualClock(t0, settle_timeout_s=None)
    runner = RuleRunner(settings, frames=lambda _: buffer, engine=CaughtUpEngine(engine) if engine else None,
                        publisher=sink, state_dir=scratch / "alerts", clock=clock)
    progress = Progress(video_seconds(video))
    await runner.start()
    ending: list[FileEnding | None] = [None]
    try:
        async for frame in _frames(video, camera, t0, ending):
            buffer.append(frame)
            if engine is not None:
                engine.submit(frame)
            await clock.run_until(frame.t_wall, runner.schedules)
            progress.update(frame.t_wall - t0)
        progress.update(clock.now() - t0, final=True)
    finally:
        await runner.stop()
    return ending[0]


async def _frames(video: Path, camera: CameraSettings, t0: float,
                  ending: list[FileEnding | None]) -> AsyncIterator[Frame]:
    """Decode in a worker thread, one frame per hop: the event loop stays free for the runner and the engine.

    When the file is done, `ending[0]` says how it ended."""
    frames = open_file_frames(video, camera.fps, camera.id, t0_wall=t0)
    decoding: asyncio.Future[Frame | FileEnding | None] | None = None
    try:
        while True:
            decoding = asyncio.get_running_loop().run_in_executor(None, _step, frames)
            step = await asyncio.shield(decoding)
            if not isinstance(step, Frame):
                ending[0] = step
                return
            yield step
    except SourceError as exc:
        raise VigilError(f"replay: cannot read {video}: {exc}") from exc
    finally:
        if decoding is not None:  # interrupted (Ctrl-C) mid-decode: let that frame finish before closing
            await asyncio.wait([decoding])
        frames.close()


def _step(frames: Generator[Frame, None, FileEnding | None]) -> Frame | FileEnding | None:
    """The next frame, or (at the end) how the file ended."""
    try:
        return next(frames)
    except StopIteration as end:
        ending: FileEnding | None = end.value
        return ending


def summary(events: Sequence[AlertEvent], t0: float, out: Path, ending: FileEnding | None = None) -> str:
    started = [e for e in events if e.type is EventType.STARTED]
    lines = [f"{len(events)} event(s), {len(started)} alert(s) started; written to {out}"]
    if ending is not None and ending.truncated:
        lines.append(f"INCOMPLETE: {ending.describe()}; events cover 0:00.0 - {_clock(ending.read_s)} only "
                     f"(exit status {EXIT_PARTIAL})")
    if ending is not None and ending.jumps:
        lines.append(f"note: the video's timestamps jumped {ending.jumps} time(s) (a clock reset or joined "
                     "recordings); each jump was re-based so video time runs on without a gap")
    for e in started:
        ended = next((x for x in events if x.id == e.id and x.type is EventType.ENDED), None)
        span = f"{_offset(e.started_at, t0)} - {_offset(ended.ended_at, t0) if ended else 'end of video'}"
        untrained = "  UNTRAINED model: not a detection" if e.untrained else ""
        lines.append(f"  {e.rule:<24} {e.severity:<9} {span}  (peak score {e.peak_score:.2f}){untrained}")
    labels = sorted({e.model.label for e in started if e.model is not None and not e.model.trained})
    lines += [f"note: question-rule alerts come from an {label}" for label in labels]
    return "\n".join(lines)


def _offset(when: str | None, t0: float) -> str:
    if when is None:
        return "?"
    return _clock(datetime.fromisoformat(when).timestamp() - t0)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):d}:{seconds % 60:04.1f}"
