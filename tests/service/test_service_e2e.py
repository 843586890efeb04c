"""The whole service as users meet it: `vigil run` with a real GStreamer RTSP camera serving a recorded jam,
the embedded redis-server, the HTTP API; then SIGTERM and a restart on the same state directory."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest
import redis

from alerts.event import AlertEvent, EventType, unix
from config.cameras import SyntheticEvent, SyntheticSource
from tests.support.media import make_scene_video
from tests.support.net import free_port
from tests.support.rtsp import RtspServer, wait_until
from tests.support.vigil import VIGIL, Running, demo_config, log_tail, vigil_run, write_config
from tests.support.whip import WhipPublisher

pytestmark = pytest.mark.slow
JAM_START_S, JAM_S, VIDEO_S = 8.0, 15.0, 60.0
QUESTION = {"question": "Is the conveyor belt jammed?", "mode": "yes_no"}


@pytest.fixture()
def camera(tmp_path: Path) -> Iterator[RtspServer]:
    scene = SyntheticSource(seed=7, fps=10, events=[SyntheticEvent(kind="jam", start_s=JAM_START_S, duration_s=JAM_S)])
    with RtspServer(media=make_scene_video(tmp_path / "jam.mp4", scene, VIDEO_S)) as server:
        yield server


def jam_events(url: str) -> list[AlertEvent]:
    with redis.Redis.from_url(url) as client:
        entries = client.xrange("vigil:alerts")
    events = [AlertEvent.from_json(fields[b"event"]) for _, fields in entries]
    return [e for e in events if e.rule == "conveyor_jam"]


def wait_for_jam_to_end(running: Running, timeout_s: float = 240) -> list[AlertEvent]:
    url = running.runtime()["redis_url"]
    found = wait_until(lambda: len(jam_events(url)) >= 2, timeout_s, poll_s=0.5)
    assert found, f"no started+ended jam events: {jam_events(url)}\n{log_tail(running.log_path)}"
    return jam_events(url)


class Tail:
    """`vigil alerts tail --json` as a consumer group created at the stream's start (so it sees every event, however
    late it starts); a thread collects its lines, so the test waits on what it printed, never on a timer."""

    def __init__(self, config: Path, redis_url: str) -> None:
        with redis.Redis.from_url(redis_url) as client:
            client.xgroup_create("vigil:alerts", "e2e", id="0", mkstream=True)
        self.process = subprocess.Popen([str(VIGIL), "alerts", "tail", "--json", "--group", "e2e", "--config",
                                         str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def events(self) -> list[AlertEvent]:
        return [AlertEvent.from_json(line) for line in list(self.lines)]

    def stop(self) -> list[AlertEvent]:
        """Ctrl-C; it exits cleanly and has printed one JSON event per line."""
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=60)
        self._reader.join(timeout=60)
        assert self.process.returncode == 0 and "Traceback" not in err, err
        return self.events()


def ask(base: str) -> dict[str, Any]:
    response = httpx.post(f"{base}/api/cameras/line1/ask", json=QUESTION, timeout=60)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def engine_settled(base: str) -> bool:
    """The camera has stopped sending and the engine has taken every group it was given."""
    view = httpx.get(f"{base}/api/cameras/line1", timeout=10).json()
    engine = view["engine"]
    return view["badge"] != "streaming" and engine is not None and engine["lag_s"] == 0


def newest_frame(base: str) -> float:
    view = httpx.get(f"{base}/api/cameras/line1", timeout=10).json()
    return float(view["last_frame_t"] or 0.0)


def scored_since(base: str, t: float) -> bool:
    scores = httpx.get(f"{base}/api/cameras/line1/scores", timeout=10).json()
    return any(point[0] >= t for points in scores.values() for point in points)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def check_snapshot(base: str, event: AlertEvent) -> None:
    response = httpx.get(base + event.snapshot.path, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (360, 640, 3)


def check_clip(base: str, event: AlertEvent, tmp_path: Path, fps: float) -> None:
    response = httpx.get(base + event.clip.path, timeout=60)
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    path = tmp_path / "clip.mp4"
    path.write_bytes(response.content)
    with av.open(str(path)) as clip:
        frames = sum(1 for _ in clip.decode(video=0))
    span = unix(event.clip.end) - unix(event.clip.start)
    assert frames >= 0.8 * span * fps, f"{frames} frames decoded for a {span:.1f} s clip at {fps} fps"


def test_vigil_run_with_an_rtsp_camera_alerts_answers_serves_footage_and_restarts(
        tmp_path: Path, camera: RtspServer) -> None:
    port = free_port()
    data = demo_config(tmp_path, port)
    data["cameras"] = [{"id": "line1", "name": "Line 1", "fps": 2.0, "source": {"type": "rtsp",
                                                                                 "url": camera.url("/file")}}]
    config, state = write_config(tmp_path, data), tmp_path / "state"

    with vigil_run(config, port, state) as running:
        tail = Tail(config, running.runtime()["redis_url"])
        started, ended = wait_for_jam_to_end(running)
        # the footage the ended event's clip needs is on disk; then the camera goes quiet, before its video could
        # play again (a new RTSP session starts it from 0): the cache stops changing, so answers can be compared
        clip_end = unix(ended.clip.end)
        assert wait_until(lambda: newest_frame(running.base) >= clip_end, 60, poll_s=0.5), log_tail(running.log_path)
        view = httpx.get(f"{running.base}/api/cameras", timeout=10).json()
        assert [(c["id"], c["state"]) for c in view] == [("line1", "streaming")]
        camera.stop()
        wanted = [started.event_id, ended.event_id]
        assert wait_until(lambda: [e.event_id for e in tail.events() if e.rule == "conveyor_jam"] == wanted, 60)
        tailed = tail.stop()
        assert [e.event_id for e in tailed if e.rule == "conveyor_jam"] == wanted
        cli = subprocess.run([str(VIGIL), "ask", "line1", QUESTION["question"], "--yes-no", "--config", str(config)],
                             capture_output=True, text=True, timeout=180)
        assert cli.returncode == 0 and cli.stdout.startswith("P(yes) = "), cli.stderr
        assert [started.type, ended.type] == [EventType.STARTED, EventType.ENDED] and started.id == ended.id
        # started marks the first over-threshold tick, ended the first tick back under: the jam's length,
        # give or take the rule's period (1 s) and the motion score's one-second window at each end
        # (frames are stamped on arrival; 3 s also absorbs a loaded machine delivering the stream unevenly)
        measured = unix(ended.ended_at or "") - unix(started.started_at)
        assert measured == pytest.approx(JAM_S, abs=3.0), f"jam of {JAM_S} s of video, alert of {measured:.1f} s"
        answer = ask(running.base)
        assert 0.0 <= answer["p_yes"] <= 1.0 and answer["seen"]["start"] <= answer["seen"]["end"]
        check_snapshot(running.base, started)
        check_clip(running.base, ended, tmp_path, fps=2.0)
        assert wait_until(lambda: engine_settled(running.base), 60, poll_s=0.5), log_tail(running.log_path)
        before = ask(running.base)
        redis_port = int(running.runtime()["redis_url"].rsplit(":", 1)[1].split("/")[0])
    assert running.exit_code == 0, log_tail(running.log_path)
    assert not port_open(redis_port), "the embedded redis-server outlived vigil run"

    with vigil_run(config, port, state, log_name="vigil-2.log") as again:
        restarted = time.time()
        after = ask(again.base)
        # rules have run on the restored state (the question rule answers from the restored cache)
        assert wait_until(lambda: scored_since(again.base, restarted), 120, poll_s=0.5), log_tail(again.log_path)
        events = jam_events(again.runtime()["redis_url"])
    assert again.exit_code == 0, log_tail(again.log_path)
    assert (after["p_yes"], after["seen"]) == (pytest.approx(before["p_yes"], abs=1e-6), before["seen"])
    assert [(e.id, e.type) for e in events] == [(started.id, EventType.STARTED), (started.id, EventType.ENDED)]


def test_public_bind_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    port = free_port()
    data = demo_config(tmp_path, port)
    data["api"] = {"host": "0.0.0.0", "port": port}
    config = write_config(tmp_path, data)
    done = subprocess.run([str(VIGIL), "run", "--config", str(config)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "api.token" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "state").exists(), "nothing may start (or write) before the bind is refused"


async def test_a_webrtc_publisher_streams_into_vigil_run_through_the_whip_route(tmp_path: Path) -> None:
    port = free_port()
    data = demo_config(tmp_path, port, rules=[])
    data["cameras"] = [{"id": "dock", "name": "Dock", "fps": 2.0,
                        "source": {"type": "webrtc", "ice_host_addresses": ["127.0.0.1"]}}]
    with vigil_run(write_config(tmp_path, data), port, tmp_path / "state") as running:
        async with httpx.AsyncClient(base_url=running.base, timeout=30) as client:
            publisher, location = WhipPublisher(), ""

            async def exchange(offer: str) -> str:
                nonlocal location
                response = await client.post("/whip/dock", content=offer, headers={"Content-Type": "application/sdp"})
                assert response.status_code == 201, response.text
                location = response.headers["location"]
                return response.text

            await publisher.publish(exchange)
            try:
                assert await wait_async(lambda: badge(client, "dock"), "streaming", 30), log_tail(running.log_path)
                snapshot = await client.get("/api/cameras/dock/snapshot.jpg")
                image = cv2.imdecode(np.frombuffer(snapshot.content, np.uint8), cv2.IMREAD_COLOR)
                assert image is not None and image.shape == (240, 320, 3)
                assert (await client.delete(location)).status_code == 200
                assert await wait_async(lambda: badge(client, "dock"), "offline", 30), log_tail(running.log_path)
            finally:
                await publisher.close()
    assert running.exit_code == 0, log_tail(running.log_path)


async def badge(client: httpx.AsyncClient, camera_id: str) -> str:
    view: dict[str, Any] = (await client.get(f"/api/cameras/{camera_id}")).json()
    return str(view["badge"])


async def wait_async(probe: Callable[[], Awaitable[str]], wanted: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await probe() == wanted:
            return True
        await asyncio.sleep(0.25)
    return False
