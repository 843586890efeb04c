"""Which local addresses WebRTC offers as ICE host candidates, from config.

aiortc has no option for this: aioice asks its module-level `get_host_addresses`, which lists every interface but
loopback. When a camera lists `ice_host_addresses`, the WHIP handler installs a replacement returning exactly those
addresses (union over cameras: the setting is process-wide in aioice) and restores the original when it stops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import aioice.ice
import structlog

log = structlog.get_logger(__name__)


def restrict_host_addresses(addresses: Iterable[str]) -> Callable[[], None]:
    """Offer only `addresses` (IPv4 or IPv6 literals) as host candidates; returns the function that undoes it."""
    allowed = sorted(set(addresses))
    previous = aioice.ice.get_host_addresses

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in allowed if (use_ipv6 if ":" in a else use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses
    log.info("webrtc.ice_host_addresses", addresses=allowed)

    def undo() -> None:
        if aioice.ice.get_host_addresses is host_addresses:
            aioice.ice.get_host_addresses = previous

    return undo
