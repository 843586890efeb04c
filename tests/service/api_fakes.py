"""In-memory stand-ins with the signatures of ingest, footage, engine and rules, for the HTTP layer's tests.

Redis is never faked: the tests give the app a client of a real redis-server.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import av
import cv2
import httpx
import numpy as np
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from config.settings import VigilSettings
from engine.api import EngineCameraStatus, EngineError, Gap, TextAnswer, TimeRange, YesNoAnswer
from ingest.errors import BadOffer, NotRetained
from ingest.frame import Frame
from ingest.stats import IngestStats
from ingest.status import CameraState, CameraStatus
from service.api import create_app
from service.context import ServiceContext

TOKEN = "s3cret-token"


def settings(token: str | None = None, engine: bool = True, **api: Any) -> VigilSettings:
    cameras = [
        {"id": "line1", "name": "Line 1", "source": {"type": "synthetic", "seed": 1}},
        {"id": "dock", "name": "Dock door", "source": {"type": "webrtc"}},
        {"id": "spare", "enabled": False, "source": {"type": "synthetic"}},
    ]
    rules = [
        {"id": "jam", "cameras": ["line1"], "severity": "critical",
         "condition": {"type": "motion", "region": [[0, 0], [1, 1]], "below": 0.2}},
        {"id": "jam_q", "cameras": ["line1"], "condition": {"type": "question", "text": "Is the belt jammed?"}},
    ]
    return VigilSettings(api={"token": token, **api}, engine={"enabled": engine}, cameras=cameras, rules=rules,
                         storage={"max_clip_s": 60})


def picture(seed: int = 0, width: int = 320, height: int = 180) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.uint8)
    image[:, :] = rng.integers(40, 200, 3, dtype=np.uint8)
    cv2.rectangle(image, (40, 60), (120, 120), (30, 160, 230), -1)
    return image


@cache
def mp4_clip(frames: int = 8) -> bytes:
    """A real H.264 MP4 (libx264, yuv420p), as the footage store exports."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=2)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(i), format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


class FakeBuffer:
    def __init__(self, camera_id: str, frames: int) -> None:
        now_mono, now_wall = time.monotonic(), time.time()
        self.frames = [Frame.make(camera_id, i, now_mono - (frames - i) * 0.5, now_wall - (frames - i) * 0.5,
                                  picture(i)) for i in range(frames)]

    def latest(self) -> Frame | None:
        return self.frames[-1] if self.frames else None

    def since(self, seq: int) -> list[Frame]:
        return [f for f in self.frames if f.seq >= seq]


class FakeWhip:
    def __init__(self) -> None:
        self.sessions: dict[str, str] = {}
        self.deleted: list[tuple[str, str | None]] = []

    async def offer(self, camera_id: str, sdp: str) -> tuple[str, str]:
        if "m=video" not in sdp:
            raise BadOffer(f"camera {camera_id!r}: the offer has no video section (m=video)")
        session_id = f"s{len(self.sessions) + 1}"
        self.sessions[session_id] = camera_id
        return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=answer\r\n", session_id

    async def delete(self, camera_id: str, session_id: str | None) -> None:
        self.deleted.append((camera_id, session_id))


class FakeIngest:
    def __init__(self) -> None:
        self.buffers = {"line1": FakeBuffer("line1", 20), "dock": FakeBuffer("dock", 0)}
        self.whip = FakeWhip()

    def status(self, camera_id: str) -> CameraStatus:
        state = CameraState.STREAMING if camera_id == "line1" else CameraState.BACKOFF
        return CameraStatus(camera_id, state, CameraState.CONNECTING, time.time(), reason="no publisher yet")

    def stats(self, camera_id: str) -> IngestStats:
        status, last = self.status(camera_id), self.buffers[camera_id].latest()
        return IngestStats(camera_id, status.state.value, 10.0 if last else 0.0, 2.0 if last else 0.0, 200, 40,
                           {"sampling": 160}, reconnects=1, last_frame_t=last.t_wall if last else None,
                           reason=status.reason)

    def buffer(self, camera_id: str) -> FakeBuffer:
        return self.buffers[camera_id]


class FakeFootage:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Any]] = []

    def snapshot(self, camera_id: str, t_wall: float | None) -> bytes:
        self.calls.append(("snapshot", camera_id, t_wall))
        if camera_id != "line1":
            raise NotRetained(f"camera {camera_id!r} has no footage yet")
        ok, jpeg = cv2.imencode(".jpg", picture(int(t_wall or 0) % 7))
        assert ok
        return bytes(jpeg)

    def frame_times(self, camera_id: str, t0: float, t1: float) -> list[float]:
        """Two frames a second over the last 10 minutes, with a gap from 6 to 4 minutes ago."""
        if camera_id != "line1":
            return []
        now = time.time()
        held = (now - 600 + i / 2 for i in range(1200))
        return [t for t in held if t0 <= t <= t1 and not now - 360 <= t <= now - 240]

    def retained(self, camera_id: str) -> tuple[float, float] | None:
        return (time.time() - 600, time.time()) if camera_id == "line1" else None

    def export_clip(self, camera_id: str, t0: float, t1: float) -> bytes:
        self.calls.append(("clip", camera_id, (t0, t1)))
        if camera_id != "line1":
            raise NotRetained(f"camera {camera_id!r}: no footage retained between {t0} and {t1}")
        return mp4_clip()


class FakeEngine:
    def __init__(self) -> None:
        self.questions: list[tuple[str, tuple[str, ...], float | None]] = []
        self.delay_s = 0.0
        self.gaps: tuple[Gap, ...] = ()  # holes the cache reports (chunks quarantined on restore)

    async def ask_yes_no(self, camera_id: str, questions: list[str], window_s: float | None = None) -> YesNoAnswer:
        self._check(camera_id)
        self.questions.append((camera_id, tuple(questions), window_s))
        await asyncio.sleep(self.delay_s)
        seen = TimeRange(time.time() - (window_s or 30), time.time(), self.gaps)
        return YesNoAnswer(camera_id, tuple(questions), tuple(0.25 for _ in questions), seen, 12.5)

    async def ask_text(self, camera_id: str, question: str, max_tokens: int = 64,
                       window_s: float | None = None) -> TextAnswer:
        self._check(camera_id)
        self.questions.append((camera_id, (question,), window_s))
        return TextAnswer(camera_id, question, "boxes on a belt", TimeRange(time.time() - 10, time.time()), 40.0)

    def status(self, camera_id: str) -> EngineCameraStatus | None:
        if camera_id != "line1":
            return None
        return EngineCameraStatus(camera_id, 40, 10, 0, 2, 1300, 2_600_000, 0.4, TimeRange(time.time() - 20,
                                                                                           time.time(), self.gaps))

    def _check(self, camera_id: str) -> None:
        if camera_id != "line1":
            raise EngineError(f"camera {camera_id!r}: nothing seen yet; ask again once it streams")


class FakeRules:
    def scores(self, camera_id: str) -> dict[str, list[tuple[float, float]]]:
        now = time.time()
        return {"jam": [(now - 10 + i, i / 10) for i in range(10)], "jam_q": []} if camera_id == "line1" else {}


@dataclass
class Parts:
    ingest: FakeIngest = field(default_factory=FakeIngest)
    footage: FakeFootage = field(default_factory=FakeFootage)
    engine: FakeEngine = field(default_factory=FakeEngine)
    rules: FakeRules = field(default_factory=FakeRules)
    outbox_ok: bool = True


def make_context(vigil: VigilSettings, redis: Redis, parts: Parts) -> ServiceContext:
    engine = parts.engine if vigil.engine.enabled else None
    return ServiceContext(vigil, parts.ingest, parts.footage, engine, parts.rules,  # type: ignore[arg-type]
                          redis, alerts_deliverable=lambda: parts.outbox_ok)


def unused_redis() -> Redis:
    """A client of nothing, failing at once: for tests whose routes never touch Redis, or test that it is away."""
    return Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))


@contextlib.asynccontextmanager
async def api_client(vigil: VigilSettings, redis: Redis | None = None, parts: Parts | None = None,
                     token: str | None = None) -> AsyncIterator[tuple[httpx.AsyncClient, Parts]]:
    """The app over httpx's in-process ASGI transport; `token` is sent as a bearer header when given."""
    parts = parts or Parts()
    app = create_app(make_context(vigil, redis or unused_redis(), parts))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://vigil.test", headers=headers) as client:
        yield client, parts
    if redis is not None:
        await redis.aclose()
