"""Liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from redis.asyncio import Redis

from service.embedded_redis import EmbeddedRedis
from tests.service.api_fakes import Parts, api_client, settings


async def test_readyz_reports_redis_truthfully_and_stays_ready_while_the_outbox_takes_alerts(
        redis_server: EmbeddedRedis) -> None:
    parts = Parts()
    async with api_client(settings(), redis=Redis.from_url(redis_server.url), parts=parts) as (client, _):
        up = await client.get("/readyz")
        redis_server.stop()
        away = await client.get("/readyz")
        parts.outbox_ok = False
        full = await client.get("/readyz")
        health = await client.get("/healthz")
    assert (up.status_code, up.json()["engine"], up.json()["redis"], up.json()["reason"]) == (200, "loaded", True, "")
    assert (away.status_code, away.json()["redis"], away.json()["ready"]) == (200, False, True)
    assert "outbox" in away.json()["reason"]
    assert (full.status_code, full.json()["redis"], full.json()["ready"]) == (503, False, False)
    assert "Redis is unreachable" in full.json()["reason"]
    assert health.status_code == 200


async def test_readyz_with_engine_disabled_reports_it() -> None:
    async with api_client(settings(engine=False)) as (client, _):
        ready = (await client.get("/readyz")).json()
    assert (ready["ready"], ready["engine"]) == (True, "disabled")


async def test_metrics_expose_question_counts_per_camera() -> None:
    async with api_client(settings()) as (client, _):
        await client.post("/api/cameras/line1/ask", json={"question": "jammed?"})
        text = (await client.get("/metrics")).text
    assert 'vigil_api_questions_total{camera_id="line1",mode="yes_no",outcome="ok"}' in text
    assert "vigil_api_question_seconds_bucket" in text


async def test_openapi_lists_every_route() -> None:
    async with api_client(settings()) as (client, _):
        paths = set((await client.get("/openapi.json")).json()["paths"])
    assert {"/healthz", "/readyz", "/api/cameras", "/api/cameras/{camera_id}", "/api/cameras/{camera_id}/ask",
            "/api/cameras/{camera_id}/snapshot.jpg", "/api/cameras/{camera_id}/clip.mp4", "/api/alerts",
            "/api/alerts/stream", "/whip/{camera_id}", "/whip/{camera_id}/{session_id}"} <= paths


async def test_info_names_the_model_and_its_caveat_and_the_limits() -> None:
    async with api_client(settings()) as (client, _):
        info = (await client.get("/api/info")).json()
    assert (info["model"], info["model_note"], info["auth_required"]) == ("tiny", "tiny — untrained, mechanics only",
                                                                          False)
    assert info["limits"] == {"max_question_chars": 500, "max_window_s": 600.0, "max_clip_s": 60.0,
                              "max_body_bytes": 65536}
