"""Snapshots and clips: served from the footage store, ranges checked before any export."""

from __future__ import annotations

import io

import av
import cv2
import numpy as np
import pytest

from tests.service.api_fakes import api_client, settings


async def test_snapshot_is_a_decodable_jpeg_of_the_newest_frame() -> None:
    async with api_client(settings()) as (client, parts):
        response = await client.get("/api/cameras/line1/snapshot.jpg")
    assert response.status_code == 200
    assert (response.headers["content-type"], response.headers["cache-control"]) == ("image/jpeg", "no-store")
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (180, 320, 3)
    assert parts.footage.calls == [("snapshot", "line1", None)]


async def test_snapshot_at_a_time_passes_the_time_through() -> None:
    async with api_client(settings()) as (client, parts):
        response = await client.get("/api/cameras/line1/snapshot.jpg", params={"t": "1732450000.25"})
    assert response.status_code == 200
    assert parts.footage.calls == [("snapshot", "line1", 1732450000.25)]


async def test_snapshot_without_footage_is_404_json() -> None:
    async with api_client(settings()) as (client, _):
        response = await client.get("/api/cameras/dock/snapshot.jpg")
    assert response.status_code == 404
    assert response.json() == {"error": "camera 'dock' has no footage yet"}


async def test_clip_is_an_mp4_that_decodes_to_its_frames() -> None:
    async with api_client(settings()) as (client, parts):
        response = await client.get("/api/cameras/line1/clip.mp4", params={"start": 100.5, "end": 130})
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(response.content), mode="r") as container:
        codec = container.streams.video[0].codec_context.name
        frames = list(container.decode(video=0))
    assert (len(frames), codec) == (8, "h264")
    assert parts.footage.calls == [("clip", "line1", (100.5, 130.0))]


@pytest.mark.parametrize(("query", "status", "reason"), [
    ({"start": 200, "end": 100}, 400, "clip range is inverted or empty"),
    ({"start": 100, "end": 100}, 400, "clip range is inverted or empty"),
    ({"start": 100, "end": 161}, 400, "longer than storage.max_clip_s (60 s)"),
    ({"start": "nan", "end": 100}, 400, "finite"),
    ({"start": 100, "end": "inf"}, 400, "finite"),
    ({"start": "yesterday", "end": 100}, 422, "query.start"),
    ({"start": 100}, 422, "query.end"),
])
async def test_bad_clip_ranges_are_refused_before_export(query: dict[str, str | float], status: int,
                                                         reason: str) -> None:
    async with api_client(settings()) as (client, parts):
        response = await client.get("/api/cameras/line1/clip.mp4", params=query)
    assert response.status_code == status
    assert reason in response.json()["error"]
    assert parts.footage.calls == []


async def test_clip_outside_retained_footage_is_404() -> None:
    async with api_client(settings()) as (client, _):
        response = await client.get("/api/cameras/dock/clip.mp4", params={"start": 1, "end": 2})
    assert response.status_code == 404
    assert "no footage retained" in response.json()["error"]
