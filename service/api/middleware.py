"""Pure ASGI middleware (streaming-safe): body-size limit, security headers, and a last-resort JSON 500."""

from __future__ import annotations

import json

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.metrics import BODIES_REFUSED

log = structlog.get_logger(__name__)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # the live stream carries ?token=; never leak it in a Referer
    (b"x-frame-options", b"DENY"),
]


async def send_json(send: Send, status: int, body: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Reads a request body up to `limit` bytes before the app sees it; anything larger gets 413 unread."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        if self._declared(scope) > self.limit:
            await self._refuse(send)
            return
        buffered = await self._read(receive)
        if buffered is None:
            await self._refuse(send)
            return
        await self.app(scope, _replay(buffered, receive), send)

    def _declared(self, scope: Scope) -> int:
        for name, value in scope["headers"]:
            if name == b"content-length":
                return int(value) if value.isdigit() else self.limit + 1
        return 0

    async def _read(self, receive: Receive) -> list[Message] | None:
        # Chunked bodies have no Content-Length: count as they arrive and stop at the limit.
        messages: list[Message] = []
        total = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            total += len(message.get("body", b""))
            if total > self.limit:
                return None
            if not message.get("more_body", False):
                return messages

    async def _refuse(self, send: Send) -> None:
        BODIES_REFUSED.inc()
        await send_json(send, 413, {"error": f"request body over {self.limit} bytes (api.max_body_bytes)"})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        # After the buffered body, later reads (a client disconnect) come from the real connection.
        return pending.pop(0) if pending else await receive()

    return replayed


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


class ErrorShield:
    """Turns an unexpected exception into {"error": ...} 500 so that no stack trace ever reaches a client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            log.exception("api.unhandled", path=scope.get("path", ""))
            if scope["type"] != "http" or started:
                raise
            await send_json(send, 500, {"error": "internal error; the service log has the details"})
