"""Absurd numbers in queries and bodies: a 400 (or 422 for a non-number) with a short body, never a 500."""

from __future__ import annotations

import re

import pytest

from tests.service.api_fakes import api_client, settings

ABSURD = ["1e306", "-1.79e308", "nan", "inf", "-inf", "1e20", "-1", "9" * 300, "1" + "0" * 400 + ".5"]


def short_and_quiet(body: str) -> bool:
    """The error does not echo a long number back (a 300-digit value must not come back 300 digits long)."""
    return len(body) < 400 and not re.search(r"\d{25}", body)


@pytest.mark.parametrize("value", ABSURD)
async def test_an_absurd_snapshot_time_is_a_400(value: str) -> None:
    async with api_client(settings()) as (client, parts):
        response = await client.get("/api/cameras/line1/snapshot.jpg", params={"t": value})
    assert response.status_code == 400, response.text
    assert "t must be a finite number of Unix seconds" in response.json()["error"]
    assert short_and_quiet(response.text) and parts.footage.calls == []


@pytest.mark.parametrize("value", ABSURD)
@pytest.mark.parametrize("which", ["start", "end"])
async def test_an_absurd_clip_bound_is_a_400(value: str, which: str) -> None:
    query = {"start": "100", "end": "110", which: value}
    async with api_client(settings()) as (client, parts):
        response = await client.get("/api/cameras/line1/clip.mp4", params=query)
    assert response.status_code == 400, response.text
    assert short_and_quiet(response.text) and parts.footage.calls == []


@pytest.mark.parametrize("value", ABSURD)
async def test_an_absurd_since_is_a_400(value: str) -> None:
    async with api_client(settings()) as (client, _):
        response = await client.get("/api/alerts", params={"since": value})
    # `since` is declared at most 40 characters: a longer one breaks the schema (422) before it is read as a time
    assert response.status_code == (400 if len(value) <= 40 else 422), response.text
    assert short_and_quiet(response.text)


@pytest.mark.parametrize(("window", "status"), [("1e308", 400), ("Infinity", 400), ("NaN", 422), ("-1", 422),
                                                ("1" + "0" * 400, 422)])
async def test_an_absurd_question_window_is_refused(window: str, status: int) -> None:
    body = '{"question": "Is the belt jammed?", "window_s": ' + window + "}"
    async with api_client(settings()) as (client, parts):
        response = await client.post("/api/cameras/line1/ask", content=body,
                                     headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert short_and_quiet(response.text) and parts.engine.questions == []


@pytest.mark.parametrize("limit", ["0", "-5", "1e3", "9" * 300, "nan"])
async def test_an_absurd_limit_is_refused_without_echo(limit: str) -> None:
    async with api_client(settings()) as (client, _):
        response = await client.get("/api/alerts", params={"limit": limit})
    assert response.status_code in (400, 422), response.text
    assert short_and_quiet(response.text)
