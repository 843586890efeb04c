"""Live view (MJPEG from the frame ring, tickets for <img>), the footage timeline's spans, the zone editor's
check, and the alert filters, against the real app (uvicorn for the streams, a real redis-server for history)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import yaml

from alerts.event import AlertEvent, iso
from alerts.publisher import AlertPublisher
from ingest.buffer import FrameBuffer
from ingest.frame import Frame
from service.api import create_app
from service.api.footage import spans
from service.api.live import LiveSlots
from service.api.live_tickets import LiveTickets
from service.embedded_redis import EmbeddedRedis
from service.http import HttpServer
from tests.service.api_fakes import TOKEN, Parts, api_client, make_context, picture, settings, unused_redis

BOUNDARY = b"--vigil-frame"


class TickingCamera:
    """A real FrameBuffer fed by a thread with a distinct picture per frame, like a camera's worker."""

    def __init__(self, camera_id: str = "line1", period_s: float = 0.1) -> None:
        self.buffer = FrameBuffer(camera_id, 16)
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seq = 0
        while not self._stop.wait(self._period_s):
            frame = Frame.make(self.buffer.camera_id, seq, time.monotonic(), time.time(), picture(seq))
            self.buffer.append(frame)
            seq += 1

    @contextlib.contextmanager
    def running(self) -> Iterator[TickingCamera]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


SLOTS: dict[str, LiveSlots] = {}  # the open-view bound of the newest app served, for the leak check


@contextlib.asynccontextmanager
async def served(parts: Parts, token: str | None = TOKEN) -> AsyncIterator[str]:
    app = create_app(make_context(settings(token=token), unused_redis(), parts))
    SLOTS["newest"] = app.state.live_slots
    server = HttpServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def read_parts(client: httpx.AsyncClient, url: str, count: int, **kwargs: object) -> list[bytes]:
    """The first `count` JPEGs of a multipart stream."""
    jpegs: list[bytes] = []
    async with client.stream("GET", url, **kwargs) as response:  # type: ignore[arg-type]
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("multipart/x-mixed-replace")
        data = b""
        async for chunk in response.aiter_bytes():
            data += chunk
            while (jpeg := _whole_part(data)) is not None:
                jpegs.append(jpeg[0])
                data = jpeg[1]
            if len(jpegs) >= count:
                return jpegs[:count]
    return jpegs


def _whole_part(data: bytes) -> tuple[bytes, bytes] | None:
    """(JPEG, the rest from its closing boundary on) once the first part has fully arrived, else None."""
    start = data.find(BOUNDARY)
    body = data.find(b"\r\n\r\n", start) + 4
    end = data.find(b"\r\n" + BOUNDARY, body)
    if start < 0 or body < 4 or end < 0:
        return None
    return data[body:end], data[end + 2:]


def decoded(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


async def test_live_view_streams_each_new_frame_of_the_ring_as_mjpeg() -> None:
    parts = Parts()
    with TickingCamera().running() as camera:
        parts.ingest.buffers["line1"] = camera.buffer  # type: ignore[assignment]
        async with served(parts) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            jpegs = await read_parts(client, "/api/cameras/line1/live.mjpeg", 4, headers=headers)
    images = [decoded(j) for j in jpegs]
    assert len(images) == 4
    assert all(image.shape == (180, 320, 3) for image in images)
    # Each part is a newer frame: consecutive pictures differ (each frame has its own colour).
    assert all(np.abs(a.astype(int) - b.astype(int)).mean() > 3 for a, b in itertools.pairwise(images))


async def test_live_view_needs_a_token_header_or_a_ticket_for_that_camera() -> None:
    parts = Parts()
    async with served(parts) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        refused = await client.get("/api/cameras/line1/live.mjpeg")
        assert refused.status_code == 401
        assert (await client.get("/api/cameras/line1/live.mjpeg", params={"token": TOKEN})).status_code == 401
        assert (await client.post("/api/cameras/line1/live-ticket")).status_code == 401
        issued = await client.post("/api/cameras/line1/live-ticket", headers={"Authorization": f"Bearer {TOKEN}"})
        assert issued.status_code == 200
        ticket = issued.json()["ticket"]
        assert TOKEN not in issued.json()["url"]
        jpegs = await read_parts(client, issued.json()["url"], 1)
        assert decoded(jpegs[0]).shape == (180, 320, 3)
        other = await client.get("/api/cameras/dock/live.mjpeg", params={"ticket": ticket})
        assert other.status_code == 401  # a ticket opens its own camera only
        forged = await client.get("/api/cameras/line1/live.mjpeg", params={"ticket": ticket[:-2] + "xx"})
        assert forged.status_code == 401
        unknown = await client.get("/api/cameras/nope/live.mjpeg", params={"ticket": ticket})
        assert unknown.status_code == 401  # no access: not even whether the camera exists
        for _ in range(500):  # the viewer left: its slot comes back (bounded wait, no timing asserted)
            if SLOTS["newest"].open == 0:
                break
            await asyncio.sleep(0.02)
        assert SLOTS["newest"].open == 0


async def test_live_view_shrinks_frames_to_the_width_asked_for() -> None:
    parts = Parts()
    wide = FrameBuffer("line1", 4)
    wide.append(Frame.make("line1", 0, time.monotonic(), time.time(), picture(3, 1280, 720)))
    parts.ingest.buffers["line1"] = wide  # type: ignore[assignment]
    async with served(parts, token=None) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        assert decoded((await read_parts(client, "/api/cameras/line1/live.mjpeg", 1))[0]).shape == (720, 1280, 3)
        small = await read_parts(client, "/api/cameras/line1/live.mjpeg?width=600", 1)
        assert decoded(small[0]).shape == (360, 640, 3)  # rounded up to one of the shared sizes
        assert (await client.get("/api/cameras/line1/live.mjpeg?width=12")).status_code == 422


def test_tickets_expire_and_are_bound_to_their_camera_and_process() -> None:
    tickets = LiveTickets(ttl_s=60)
    ticket, expires = tickets.issue("line1", now=1000.0)
    assert expires == 1060.0
    assert tickets.valid(ticket, "line1", now=1059.0)
    assert not tickets.valid(ticket, "line1", now=1061.0)
    assert not tickets.valid(ticket, "dock", now=1001.0)
    assert not LiveTickets(ttl_s=60).valid(ticket, "line1", now=1001.0)  # another process's key
    assert not tickets.valid("9999999999.abc", "line1", now=1001.0)
    assert not tickets.valid("", "line1", now=1001.0)


async def test_footage_timeline_reports_covered_spans_and_gaps() -> None:
    async with api_client(settings()) as (client, _):
        now = time.time()
        answer = (await client.get("/api/cameras/line1/footage", params={"start": now - 900, "end": now})).json()
        assert answer["retained"]["start"] < answer["retained"]["end"]
        assert len(answer["spans"]) == 2  # the fake store holds a 2-minute hole
        (_, first_end), (second_start, _) = answer["spans"]
        assert first_end < now - 355 and second_start > now - 245
        assert answer["frames"] > 900
        inverted = await client.get("/api/cameras/line1/footage", params={"start": now, "end": now - 1})
        assert inverted.status_code == 400
        empty = (await client.get("/api/cameras/dock/footage")).json()
        assert empty["spans"] == [] and empty["retained"] is None


def test_spans_split_where_frames_are_further_apart_than_the_gap() -> None:
    assert spans([1.0, 2.0, 3.0, 10.0, 11.0, 30.0], 3.0) == [(1.0, 3.0), (10.0, 11.0), (30.0, 30.0)]
    assert spans([], 3.0) == []


def config_with(tmp_path: Path, snippet: str) -> Path:
    """A whole config: a synthetic camera line1, and the editor's snippet under rules:."""
    body = "cameras:\n  - id: line1\n    source: {type: synthetic}\nrules:\n"
    body += "".join(f"  {line}\n" for line in snippet.splitlines())
    path = tmp_path / "vigil.yaml"
    path.write_text(body)
    return path


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", "check-config", str(path)], capture_output=True,
                          text=True, timeout=120)


async def test_zone_editor_snippet_is_what_check_config_accepts(tmp_path: Path) -> None:
    region = [[0.1, 0.5], [0.9, 0.45], [0.95, 0.8], [0.05, 0.85]]
    async with api_client(settings()) as (client, _):
        info = (await client.get("/api/info")).json()
        assert info["region_conditions"]["motion"] is True and info["region_conditions"]["presence"] is False
        body = {"condition": "motion", "region": region, "direction": [3.0, 4.0], "rule_id": "belt-a"}
        answer = (await client.post("/api/cameras/line1/zone", json=body)).json()
    assert answer["valid"] is True, answer["issues"]
    rule = yaml.safe_load(answer["yaml"])[0]
    assert rule["condition"]["region"] == region
    assert rule["condition"]["direction"] == [0.6, 0.8]  # unit length, image axes
    assert "y 0 = top" in answer["yaml"] and "x right, y down" in answer["yaml"]
    result = await asyncio.to_thread(check_config, config_with(tmp_path, answer["yaml"]))
    assert result.returncode == 0, result.stderr


async def test_zone_editor_reports_what_check_config_refuses() -> None:
    async with api_client(settings()) as (client, _):
        outside = {"condition": "presence", "region": [[0.1, 0.1], [1.4, 0.2], [0.5, 0.9]]}
        answer = (await client.post("/api/cameras/line1/zone", json=outside)).json()
        assert answer["valid"] is False
        assert any("region" in issue and "outside" in issue for issue in answer["issues"])
        taken = (await client.post("/api/cameras/line1/zone", json={**outside, "region": [[0.1, 0.1], [0.4, 0.2],
                                                                                       [0.5, 0.9]],
                                                                   "rule_id": "jam"})).json()
        assert taken["valid"] is True and "exists already" in taken["notes"][0]
        question = {"condition": "question", "region": [[0.1, 0.1], [0.4, 0.2], [0.5, 0.9]]}
        assert (await client.post("/api/cameras/line1/zone", json=question)).status_code == 400


def alert(n: int, severity: str) -> AlertEvent:
    at = iso(time.time() - 100 + n)
    return AlertEvent(
        event_id=f"o{n}/0", id=f"o{n}", seq=0, type="started", rule="jam", camera="line1", condition="motion",
        severity=severity, score=0.9, peak_score=0.9, started_at=at, emitted_at=at,  # type: ignore[arg-type]
        snapshot={"camera": "line1", "at": at, "path": "/api/cameras/line1/snapshot.jpg"},
        clip={"camera": "line1", "start": at, "end": at, "path": "/api/cameras/line1/clip.mp4"},
    )


async def test_alert_history_filters_by_severity_and_publication_time(redis_server: EmbeddedRedis,
                                                                      tmp_path: Path) -> None:
    from redis.asyncio import Redis

    pub = AlertPublisher(settings().redis, redis_server.url, tmp_path / "outbox")
    await pub.start()
    await pub.publish(alert(1, "critical"))
    await pub.publish(alert(2, "info"))
    await asyncio.sleep(0.01)
    middle = time.time()
    await asyncio.sleep(0.01)
    await pub.publish(alert(3, "critical"))
    await pub.stop()
    async with api_client(settings(), redis=Redis.from_url(redis_server.url)) as (client, _):
        critical = (await client.get("/api/alerts", params={"severity": "critical"})).json()["alerts"]
        assert [a["id"] for a in critical] == ["o3", "o1"]
        before = (await client.get("/api/alerts", params={"until": str(middle)})).json()["alerts"]
        assert [a["id"] for a in before] == ["o2", "o1"]
        assert (await client.get("/api/alerts", params={"severity": "loud"})).status_code == 422
