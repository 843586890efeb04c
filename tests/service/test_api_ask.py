"""POST /api/cameras/{id}/ask: answers with what they saw, limits enforced, engine refusals explained."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.service.api_fakes import api_client, settings

ASK = "/api/cameras/line1/ask"


async def test_yes_no_question_returns_p_yes_seen_range_latency_and_tiny_caveat() -> None:
    async with api_client(settings()) as (client, parts):
        response = await client.post(ASK, json={"question": "  Is the belt jammed? ", "window_s": 60})
    answer = response.json()
    assert response.status_code == 200
    assert (answer["mode"], answer["p_yes"], answer["text"], answer["latency_ms"]) == ("yes_no", 0.25, None, 12.5)
    assert answer["seen"]["end"] - answer["seen"]["start"] == pytest.approx(60)
    assert (answer["model"], answer["model_note"]) == ("tiny", "tiny — untrained, mechanics only")
    assert parts.engine.questions == [("line1", ("Is the belt jammed?",), 60.0)]


async def test_text_question_returns_text() -> None:
    async with api_client(settings()) as (client, _):
        answer = (await client.post(ASK, json={"question": "What is on the belt?", "mode": "text"})).json()
    assert (answer["text"], answer["p_yes"], answer["mode"]) == ("boxes on a belt", None, "text")


@pytest.mark.parametrize(("body", "status", "reason"), [
    ({"question": "x" * 501}, 400, "question has 501 characters; the limit is 500"),
    ({"question": "x" * 5000}, 422, "body.question"),
    ({"question": "   "}, 400, "question is empty"),
    ({"question": "jammed?", "window_s": 601}, 400, "window_s 601 is over the limit of 600 s"),
    ({"question": "jammed?", "window_s": -5}, 422, "body.window_s"),
    ({"question": "jammed?", "mode": "essay"}, 422, "body.mode"),
    ({"question": "jammed?", "max_tokens": 500, "mode": "text"}, 400, "engine.max_new_tokens"),
    ({"question": "jammed?", "shell": "rm -rf /"}, 422, "body.shell"),
    ({}, 422, "body.question"),
])
async def test_bad_questions_get_clear_4xx(body: dict[str, object], status: int, reason: str) -> None:
    async with api_client(settings()) as (client, parts):
        response = await client.post(ASK, json=body)
    assert response.status_code == status
    assert reason in response.json()["error"]
    assert "Traceback" not in response.text
    assert parts.engine.questions == []


async def test_malformed_json_is_422_not_a_stack_trace() -> None:
    async with api_client(settings()) as (client, _):
        response = await client.post(ASK, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "error" in response.json()


async def test_body_over_limit_is_413_declared_or_streamed() -> None:
    big = b'{"question": "' + b"x" * 70_000 + b'"}'

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit must hold while the body streams in
        for i in range(0, len(big), 8192):
            yield big[i:i + 8192]

    async with api_client(settings()) as (client, parts):
        declared = await client.post(ASK, content=big, headers={"Content-Type": "application/json"})
        streamed = await client.post(ASK, content=chunks(), headers={"Content-Type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json() == {"error": "request body over 65536 bytes (api.max_body_bytes)"}
    assert parts.engine.questions == []


async def test_unknown_camera_is_404() -> None:
    async with api_client(settings()) as (client, _):
        response = await client.post("/api/cameras/nope/ask", json={"question": "jammed?"})
    assert response.status_code == 404


async def test_engine_refusal_is_409_with_its_message() -> None:
    async with api_client(settings()) as (client, _):
        response = await client.post("/api/cameras/dock/ask", json={"question": "anyone there?"})
    assert response.status_code == 409
    assert response.json() == {"error": "camera 'dock': nothing seen yet; ask again once it streams"}


async def test_engine_disabled_is_503() -> None:
    async with api_client(settings(engine=False)) as (client, _):
        response = await client.post(ASK, json={"question": "jammed?"})
    assert response.status_code == 503
    assert "engine is disabled" in response.json()["error"]


async def test_unexpected_failure_is_json_500_without_trace() -> None:
    async with api_client(settings()) as (client, parts):
        parts.engine.questions = None  # type: ignore[assignment]  # the fake now fails with AttributeError
        response = await client.post(ASK, json={"question": "jammed?"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal error; the service log has the details"}
