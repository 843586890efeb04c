"""Short-lived tickets that let an <img> open a camera's live stream without the API token in its URL.

An <img> cannot send an Authorization header. The console asks for a ticket with its bearer token
(POST .../live-ticket) and puts the ticket in the stream's URL instead of the token. A ticket names one camera,
expires after TICKET_TTL_S and is signed with a key that lives only in this process (HMAC-SHA256, RFC 2104), so
a copied URL opens nothing once it has expired, opens no other camera, reveals nothing about the token, and
every ticket dies with a restart. It is checked when the stream opens; an open stream keeps running.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

TICKET_TTL_S = 60.0  # long enough to open the stream after asking; short enough that a leaked URL is stale


class LiveTickets:
    """Issues and checks tickets; the signing key is random per process and never leaves it."""

    def __init__(self, ttl_s: float = TICKET_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._key = secrets.token_bytes(32)

    def issue(self, camera_id: str, now: float | None = None) -> tuple[str, float]:
        """(ticket, expiry in Unix seconds) for `camera_id`'s live stream."""
        expires = int((time.time() if now is None else now) + self.ttl_s)
        return f"{expires}.{self._sign(camera_id, expires)}", float(expires)

    def valid(self, ticket: str, camera_id: str, now: float | None = None) -> bool:
        """True only for an unexpired ticket issued by this process for this camera; constant-time comparison."""
        stamp, _, signature = ticket.partition(".")
        if not stamp.isdigit() or len(stamp) > 12 or not signature:
            return False
        expires = int(stamp)
        moment = time.time() if now is None else now
        if not moment <= expires <= moment + self.ttl_s + 1:
            return False
        return hmac.compare_digest(signature.encode(), self._sign(camera_id, expires).encode())

    def _sign(self, camera_id: str, expires: int) -> str:
        mac = hmac.new(self._key, f"live\n{camera_id}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")
