"""The bearer token: refused without it on every data route, the bind rule checked before start."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from config.errors import ConfigError
from service.api import check_bind, is_loopback
from service.api.auth import presented_token
from tests.service.api_fakes import TOKEN, api_client, settings

GUARDED = [
    ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/api/info"),
    ("GET", "/api/cameras"), ("GET", "/api/cameras/line1"), ("GET", "/api/cameras/line1/scores"),
    ("POST", "/api/cameras/line1/ask"), ("GET", "/api/cameras/line1/snapshot.jpg"),
    ("GET", "/api/cameras/line1/clip.mp4?start=1&end=2"), ("GET", "/api/alerts"), ("GET", "/api/alerts/stream"),
    ("POST", "/whip/dock"), ("DELETE", "/whip/dock"), ("DELETE", "/whip/dock/s1"),
    ("GET", "/api/cameras/no-such-camera"),  # unauthenticated callers do not learn which cameras exist
]


@pytest.mark.parametrize(("method", "path"), GUARDED)
async def test_request_without_token_gets_401_on_every_data_route(method: str, path: str) -> None:
    async with api_client(settings(token=TOKEN)) as (client, parts):
        response = await client.request(method, path)
    assert response.status_code == 401
    assert "bearer token" in response.json()["error"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert parts.footage.calls == [] and parts.engine.questions == []


async def test_wrong_token_gets_401_and_right_token_gets_through() -> None:
    async with api_client(settings(token=TOKEN), token="wrong") as (client, _):
        assert (await client.get("/api/cameras")).status_code == 401
    async with api_client(settings(token=TOKEN), token=TOKEN) as (client, _):
        assert (await client.get("/api/cameras")).status_code == 200


async def test_token_in_query_counts_only_where_a_header_cannot_be_sent() -> None:
    async with api_client(settings(token=TOKEN)) as (client, _):
        media = await client.get(f"/api/cameras/line1/snapshot.jpg?token={TOKEN}")
        data = await client.get(f"/api/cameras?token={TOKEN}")
    assert media.status_code == 401 and data.status_code == 401  # a header works there: a URL would leak it
    stream = Request({"type": "http", "method": "GET", "path": "/api/alerts/stream", "headers": [],
                      "query_string": f"token={TOKEN}".encode()})
    assert presented_token(stream) == TOKEN  # EventSource cannot send headers


async def test_healthz_and_console_page_need_no_token() -> None:
    async with api_client(settings(token=TOKEN)) as (client, _):
        health = await client.get("/healthz")
        page = await client.get("/")
        script = await client.get("/static/api.js")
    assert health.json() == {"status": "ok"}
    assert page.status_code == 200 and "<title>Vigil console</title>" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert script.status_code == 200 and "sessionStorage" in script.text


async def test_without_configured_token_loopback_service_is_open() -> None:
    async with api_client(settings(token=None)) as (client, _):
        assert (await client.get("/api/cameras")).status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "vigil.factory.lan"])
def test_service_refuses_to_bind_beyond_loopback_without_token(host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_bind(settings(token=None, host=host))
    assert "api.token" in str(caught.value) and host in str(caught.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_bind_without_token_is_allowed(host: str) -> None:
    assert is_loopback(host)
    check_bind(settings(token=None, host=host))


def test_beyond_loopback_with_token_is_allowed() -> None:
    check_bind(settings(token=TOKEN, host="0.0.0.0"))
    assert not is_loopback("0.0.0.0")
