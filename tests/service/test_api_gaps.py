"""Holes in a camera's cached video (chunks quarantined on restore) are shown, never hidden: in the camera's
view, in an answer's `seen`, and in `vigil ask`'s output."""

from __future__ import annotations

import time

from engine.api import Gap
from service.commands import format_answer
from tests.service.api_fakes import Parts, api_client, settings


async def test_the_camera_view_and_an_answer_show_the_holes_in_the_cache() -> None:
    parts = Parts()
    now = time.time()
    parts.engine.gaps = (Gap(now - 15, now - 9, 2),)
    async with api_client(settings(), parts=parts) as (client, _):
        view = (await client.get("/api/cameras/line1")).json()
        answer = (await client.post("/api/cameras/line1/ask", json={"question": "jammed?"})).json()
    hole = {"start": now - 15, "end": now - 9, "chunks": 2}
    assert view["engine"]["gaps"] == [hole] and view["engine"]["seen"]["gaps"] == [hole]
    assert answer["seen"]["gaps"] == [hole]
    lines = format_answer(answer).splitlines()
    assert any(line.startswith("not seen: ") and "2 chunk(s)" in line for line in lines)


async def test_a_cache_without_holes_says_so() -> None:
    async with api_client(settings()) as (client, _):
        view = (await client.get("/api/cameras/line1")).json()
        answer = (await client.post("/api/cameras/line1/ask", json={"question": "jammed?"})).json()
    assert view["engine"]["gaps"] == [] and answer["seen"]["gaps"] == []
    assert not any(line.startswith("not seen") for line in format_answer(answer).splitlines())
