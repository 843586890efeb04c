"""WHIP publishing: offer in, answer and Location out; bad offers and wrong cameras refused with a reason."""

from __future__ import annotations

import pytest

from tests.service.api_fakes import api_client, settings

OFFER = "v=0\r\no=- 4 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
SDP = {"Content-Type": "application/sdp"}


async def test_offer_gets_201_answer_and_session_location_then_delete_ends_it() -> None:
    async with api_client(settings()) as (client, parts):
        created = await client.post("/whip/dock", content=OFFER, headers=SDP)
        deleted = await client.delete(created.headers["location"])
        deleted_all = await client.delete("/whip/dock")
    assert created.status_code == 201
    assert created.headers["content-type"] == "application/sdp"
    assert created.text.startswith("v=0")
    assert created.headers["location"] == "/whip/dock/s1"
    assert (deleted.status_code, deleted_all.status_code) == (200, 200)
    assert parts.ingest.whip.deleted == [("dock", "s1"), ("dock", None)]


@pytest.mark.parametrize(("path", "body", "headers", "status", "reason"), [
    ("/whip/dock", OFFER, {"Content-Type": "application/json"}, 415, "Content-Type: application/sdp"),
    ("/whip/dock", "hello", SDP, 400, "not an SDP offer"),
    ("/whip/dock", "v=0\r\ns=-\r\n", SDP, 400, "no video section"),  # refused by the session handler
    ("/whip/line1", OFFER, SDP, 409, "WHIP publishes only to cameras whose source type is webrtc"),
    ("/whip/nope", OFFER, SDP, 404, "unknown camera 'nope'"),
    ("/whip/%2e%2e", OFFER, SDP, 404, "unknown camera '..'"),
])
async def test_bad_offers_are_refused_with_a_reason(path: str, body: str, headers: dict[str, str], status: int,
                                                    reason: str) -> None:
    async with api_client(settings()) as (client, parts):
        response = await client.post(path, content=body, headers=headers)
    assert response.status_code == status
    assert reason in response.json()["error"]
    assert parts.ingest.whip.sessions == {}


async def test_delete_with_a_malformed_session_id_is_refused() -> None:
    async with api_client(settings()) as (client, parts):
        response = await client.delete("/whip/dock/..%2F..%2Fx")
        weird = await client.delete("/whip/dock/a%20b")
    assert (response.status_code, weird.status_code) in {(404, 422), (422, 422), (404, 404)}
    assert parts.ingest.whip.deleted == []
