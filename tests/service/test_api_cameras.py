"""GET /api/cameras and /api/cameras/{id}: state, fps, lag, KV size, last frame time; ids only from the config."""

from __future__ import annotations

import pytest

from tests.service.api_fakes import api_client, settings


async def test_camera_list_shows_state_fps_lag_kv_and_last_frame() -> None:
    async with api_client(settings()) as (client, parts):
        cameras = (await client.get("/api/cameras")).json()
    assert [c["id"] for c in cameras] == ["line1", "dock", "spare"]
    line1 = cameras[0]
    assert (line1["state"], line1["badge"], line1["source"]) == ("streaming", "streaming", "synthetic")
    assert line1["fps"] == 2.0
    assert line1["last_frame_t"] == parts.ingest.buffers["line1"].frames[-1].t_wall
    assert (line1["engine"]["kv_tokens"], line1["engine"]["kv_bytes"], line1["engine"]["lag_s"]) == (1300, 2_600_000,
                                                                                                     0.4)
    assert (line1["stats"]["input_fps"], line1["stats"]["dropped"], line1["stats"]["reconnects"]) == (
        10.0, {"sampling": 160}, 1)
    assert [(r["id"], r["kind"], r["question"]) for r in line1["rules"]] == [
        ("jam", "motion", None), ("jam_q", "question", "Is the belt jammed?")]


async def test_camera_without_frames_or_engine_cache_shows_offline_and_nulls() -> None:
    async with api_client(settings()) as (client, _):
        dock = (await client.get("/api/cameras/dock")).json()
        spare = (await client.get("/api/cameras/spare")).json()
    assert (dock["state"], dock["badge"], dock["reason"]) == ("backoff", "offline", "no publisher yet")
    assert (dock["fps"], dock["last_frame_t"], dock["engine"]) == (0.0, None, None)
    assert (spare["state"], spare["badge"], spare["fps"], spare["stats"]) == ("disabled", "offline", None, {})


async def test_a_camera_whose_status_fails_does_not_hide_the_others() -> None:
    async with api_client(settings()) as (client, parts):
        del parts.ingest.buffers["dock"]  # the fake now raises KeyError for it, as a broken part might
        cameras = (await client.get("/api/cameras")).json()
    assert [(c["id"], c["state"], c["badge"]) for c in cameras] == [
        ("line1", "streaming", "streaming"), ("dock", "unknown", "offline"), ("spare", "disabled", "offline")]


async def test_engine_disabled_leaves_engine_fields_empty() -> None:
    async with api_client(settings(engine=False)) as (client, _):
        line1 = (await client.get("/api/cameras/line1")).json()
    assert line1["engine"] is None and line1["state"] == "streaming"


async def test_rule_scores_for_the_camera_page_chart() -> None:
    async with api_client(settings()) as (client, _):
        scores = (await client.get("/api/cameras/line1/scores")).json()
    assert set(scores) == {"jam", "jam_q"}
    assert [s for _, s in scores["jam"]] == pytest.approx([i / 10 for i in range(10)])


async def test_unknown_camera_is_404_with_reason() -> None:
    async with api_client(settings()) as (client, _):
        response = await client.get("/api/cameras/line9")
    assert response.status_code == 404
    assert response.json() == {"error": "unknown camera 'line9'; GET /api/cameras lists the configured ones"}


@pytest.mark.parametrize("path", [
    "/api/cameras/%2e%2e/snapshot.jpg",
    "/api/cameras/..%2F..%2Fetc%2Fpasswd/snapshot.jpg",
    "/api/cameras/..%5Cline1/snapshot.jpg",
    "/api/cameras/line1%00/snapshot.jpg",
    "/api/cameras/%2e%2e%2fline1/clip.mp4?start=1&end=2",
    "/api/cameras/LINE1/snapshot.jpg",
    "/static/..%2F..%2Fapi%2F__init__.py",
    "/static/%2e%2e/api/auth.py",
])
async def test_path_tricks_in_ids_are_refused_without_touching_footage(path: str) -> None:
    async with api_client(settings()) as (client, parts):
        response = await client.get(path)
    assert response.status_code in (404, 422)
    assert "error" in response.json()
    assert parts.footage.calls == []
