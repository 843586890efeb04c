"""Alert history and the live feed, from a real redis-server fed by the real AlertPublisher."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from alerts.event import AlertEvent, iso
from alerts.publisher import AlertPublisher
from service.api import create_app
from service.api.alert_feed import StreamSlots, resume_id
from service.api.errors import Unavailable
from service.embedded_redis import EmbeddedRedis
from service.http import HttpServer
from tests.service.api_fakes import Parts, api_client, make_context, settings, unused_redis

T0 = 1_760_000_000.0


def event(n: int, camera: str = "line1", rule: str = "jam", kind: str = "started", t0: float = T0) -> AlertEvent:
    at = iso(t0 + n)
    return AlertEvent(
        event_id=f"occ{n}/0", id=f"occ{n}", seq=0, type=kind, rule=rule, camera=camera,
        condition="motion", severity="critical", score=0.9, peak_score=0.9, started_at=at, emitted_at=at,
        snapshot={"camera": camera, "at": at, "path": f"/api/cameras/{camera}/snapshot.jpg?t={T0 + n}"},
        clip={"camera": camera, "start": iso(T0 + n - 5), "end": iso(T0 + n + 5),
              "path": f"/api/cameras/{camera}/clip.mp4?start={T0 + n - 5}&end={T0 + n + 5}"},
    )


@contextlib.asynccontextmanager
async def publisher(redis_server: EmbeddedRedis, tmp_path: Path) -> AsyncIterator[AlertPublisher]:
    pub = AlertPublisher(settings().redis, redis_server.url, tmp_path / "outbox")
    await pub.start()
    try:
        yield pub
    finally:
        await pub.stop()


async def test_history_is_newest_first_and_filtered(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    async with publisher(redis_server, tmp_path) as pub:
        for n, (camera, rule) in enumerate([("line1", "jam"), ("dock", "jam"), ("line1", "person"), ("line1", "jam")]):
            await pub.publish(event(n, camera, rule))
    async with api_client(settings(), Redis.from_url(redis_server.url)) as (client, _):
        everything = (await client.get("/api/alerts")).json()["alerts"]
        line1_jam = (await client.get("/api/alerts", params={"camera": "line1", "rule": "jam"})).json()["alerts"]
        newest = (await client.get("/api/alerts", params={"limit": 1})).json()["alerts"]
    assert [e["id"] for e in everything] == ["occ3", "occ2", "occ1", "occ0"]
    assert [e["id"] for e in line1_jam] == ["occ3", "occ0"]
    assert [e["id"] for e in newest] == ["occ3"]
    assert AlertEvent.model_validate(everything[0]) == event(3)


async def test_since_keeps_only_later_alerts(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    async with publisher(redis_server, tmp_path) as pub:
        await pub.publish(event(0))
        await asyncio.sleep(0.01)  # stream ids carry the publication time in ms: keep the cut clear of both
        cut = time.time()
        await asyncio.sleep(0.01)
        await pub.publish(event(1))
    async with api_client(settings(), Redis.from_url(redis_server.url)) as (client, _):
        later = (await client.get("/api/alerts", params={"since": f"{cut:.3f}"})).json()["alerts"]
        bad = await client.get("/api/alerts", params={"since": "last tuesday"})
        odd = [await client.get("/api/alerts", params={"since": v}) for v in ("nan", "inf", "-5", "1e30")]
        odd_until = [await client.get("/api/alerts", params={"until": v}) for v in ("inf", "yesterday")]
    assert [e["id"] for e in later] == ["occ1"]
    assert bad.status_code == 400 and "ISO-8601" in bad.json()["error"]
    assert [r.status_code for r in odd] == [400] * 4 and all("out of range" in r.json()["error"] for r in odd)
    assert [r.status_code for r in odd_until] == [400] * 2  # the error names the key that was wrong
    assert [r.json()["error"].split(" ")[0] for r in odd_until] == ["until", "until"]


async def test_bad_filters_are_422(redis_server: EmbeddedRedis) -> None:
    async with api_client(settings(), Redis.from_url(redis_server.url)) as (client, _):
        responses = [await client.get("/api/alerts", params=p) for p in
                     ({"camera": "../etc"}, {"limit": 0}, {"limit": 100_000}, {"rule": "a b"})]
    assert [r.status_code for r in responses] == [422, 422, 422, 422]


async def test_history_without_redis_is_503() -> None:
    async with api_client(settings(), unused_redis()) as (client, _):
        response = await client.get("/api/alerts")
    assert response.status_code == 503 and "Redis does not answer" in response.json()["error"]


@contextlib.asynccontextmanager
async def served(redis_server: EmbeddedRedis) -> AsyncIterator[tuple[str, StreamSlots]]:
    """The app behind real uvicorn on a free loopback port: streaming needs a real server, not the ASGI shim."""
    redis = Redis.from_url(redis_server.url)
    app = create_app(make_context(settings(), redis, Parts()))
    server = HttpServer(app, "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", app.state.stream_slots
    finally:
        await server.stop()
        await redis.aclose()


async def sse_messages(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    message: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if message:
                yield message
            message = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            message[key] = value


async def next_alert(messages: AsyncIterator[dict[str, str]]) -> dict[str, str]:
    async for message in messages:
        if message.get("event") == "alert":
            return message
    raise AssertionError("the stream ended without an alert")


async def test_live_feed_delivers_new_alerts_and_resumes_from_last_event_id(redis_server: EmbeddedRedis,
                                                                           tmp_path: Path) -> None:
    async with served(redis_server) as (base, slots), publisher(redis_server, tmp_path) as pub, httpx.AsyncClient(
            base_url=base, timeout=10) as client:
        await pub.publish(event(0))  # before the client connects: not part of the live feed
        async with client.stream("GET", "/api/alerts/stream", params={"camera": "line1"}) as response:
            messages = sse_messages(response)
            assert (await anext(messages)) == {"retry": "2000"}
            await pub.publish(event(1, camera="dock"))  # filtered out
            await pub.publish(event(2))
            first = await next_alert(messages)
            await pub.publish(event(3))
            second = await next_alert(messages)
        async with client.stream("GET", "/api/alerts/stream", headers={"Last-Event-ID": first["id"]}) as resumed:
            replayed = await next_alert(sse_messages(resumed))
        for _ in range(100):  # the server notices the disconnects asynchronously
            if slots.open == 0:
                break
            await asyncio.sleep(0.05)
        assert slots.open == 0  # every closed stream gave its slot back
    assert response.headers["content-type"].startswith("text/event-stream")
    assert [json.loads(m["data"])["id"] for m in (first, second)] == ["occ2", "occ3"]
    assert replayed["id"] == second["id"]  # reconnecting from `first` replays what came after it


def test_live_streams_over_the_limit_are_refused_until_one_closes() -> None:
    slots = StreamSlots(2)
    slots.acquire()
    slots.acquire()
    with pytest.raises(Unavailable, match="2 live alert streams are already open"):
        slots.acquire()
    slots.release()
    slots.acquire()
    assert slots.open == 2


@pytest.mark.parametrize(("header", "expected"), [
    ("1732450000000-3", "1732450000000-3"), (" 5-0 ", "5-0"), ("$", None), ("0-0; DROP", None), ("", None),
    (None, None),
])
def test_last_event_id_is_used_only_when_well_formed(header: str | None, expected: str | None) -> None:
    assert resume_id(header) == expected
