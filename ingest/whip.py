"""WHIP session handler: SDP offer in, answer out; aiortc receives the video and feeds the camera's hand-off.

The HTTP route lives in service/; this runs on the service's event loop. One session per camera: a second
publisher replaces the first, DELETE ends it, a failed ICE connection ends it too.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from config.cameras import WebRtcSource as WebRtcSettings
from ingest.errors import BadOffer, UnknownCamera
from ingest.ice import restrict_host_addresses
from ingest.metrics import WHIP_SESSIONS
from ingest.sources.webrtc import WebRtcFeed

log = structlog.get_logger(__name__)


class UnknownSession(UnknownCamera):
    """DELETE named a session that is not (or no longer) publishing to this camera; a not-found like a camera."""


@dataclass
class _Session:
    id: str
    camera_id: str
    pc: RTCPeerConnection
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    ended: bool = False


class WhipHandler:
    """Owns every WebRTC peer connection; used only on the event loop."""

    def __init__(self, cameras: Mapping[str, WebRtcSettings], feeds: Mapping[str, WebRtcFeed]) -> None:
        self._cameras = dict(cameras)
        self._feeds = dict(feeds)
        self._sessions: dict[str, _Session] = {}  # camera id -> its one live session
        self._locks = {camera_id: asyncio.Lock() for camera_id in self._cameras}
        self._undo_ice: Callable[[], None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        addresses = {str(a) for s in self._cameras.values() for a in s.ice_host_addresses}
        if addresses:
            self._undo_ice = restrict_host_addresses(addresses)

    def session_id(self, camera_id: str) -> str | None:
        session = self._sessions.get(camera_id)
        return session.id if session is not None else None

    async def offer(self, camera_id: str, sdp: str) -> tuple[str, str]:
        """Answer a publisher's offer; returns (answer SDP, session id). Replaces the camera's current publisher."""
        settings = self._settings(camera_id)
        async with self._locks[camera_id]:
            try:
                session = await self._negotiate(camera_id, settings, sdp)
            except BadOffer:
                WHIP_SESSIONS.labels(camera_id=camera_id, outcome="refused").inc()
                raise
            previous = self._sessions.get(camera_id)
            self._sessions[camera_id] = session
            self._feeds[camera_id].attach(session.id)
            if previous is not None:
                await self._end(previous, "was replaced by a new publisher")
        WHIP_SESSIONS.labels(camera_id=camera_id, outcome="accepted").inc()
        log.info("whip.session_started", camera_id=camera_id, session_id=session.id, replaced=previous is not None)
        return session.pc.localDescription.sdp, session.id

    def _settings(self, camera_id: str) -> WebRtcSettings:
        settings = self._cameras.get(camera_id)
        if settings is None:
            raise UnknownCamera(f"camera {camera_id!r} is not an enabled webrtc camera; WHIP publishes only to "
                                "cameras configured with source type webrtc")
        return settings

    async def _negotiate(self, camera_id: str, settings: WebRtcSettings, sdp: str) -> _Session:
        _check_offer(camera_id, sdp)
        servers = [RTCIceServer(urls=url) for url in settings.ice_servers]
        # iceServers must be an explicit list: None makes aiortc add a public STUN server.
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        session = _Session(secrets.token_urlsafe(16), camera_id, pc)
        pc.on("track", lambda track: self._on_track(session, track))
        pc.on("connectionstatechange", lambda: self._on_state(session))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except asyncio.CancelledError:  # the publisher hung up, or the server is stopping, mid-negotiation
            await asyncio.shield(pc.close())
            raise
        except Exception as exc:  # aiortc raises many types for bad SDP; all mean "this offer cannot be used"
            await pc.close()
            raise BadOffer(f"camera {camera_id!r}: the SDP offer cannot be answered: {exc or type(exc).__name__}; "
                           "send a WebRTC offer with one video track (H.264 or VP8)") from exc
        return session

    def _on_track(self, session: _Session, track: Any) -> None:
        if track.kind == "video":
            session.tasks.append(asyncio.ensure_future(self._pump(session, track)))

    async def _pump(self, session: _Session, track: Any) -> None:
        feed = self._feeds[session.camera_id]
        reason = "stopped sending video"
        try:
            while True:
                feed.push(session.id, await track.recv())
        except MediaStreamError:
            pass
        except Exception as exc:  # a broken track ends this session only
            reason = f"sent video that could not be received ({exc!r})"
        finally:
            feed.detach(session.id, reason)

    def _on_state(self, session: _Session) -> None:
        if session.pc.connectionState in ("failed", "closed") and not session.ended:
            task = asyncio.ensure_future(self._end(session, f"connection {session.pc.connectionState}"))
            self._closing.add(task)  # held until done: the loop keeps only weak references to tasks
            task.add_done_callback(self._closing.discard)

    async def delete(self, camera_id: str, session_id: str | None) -> None:
        """End the camera's session (`session_id` None: whichever publishes now)."""
        self._settings(camera_id)
        async with self._locks[camera_id]:
            session = self._sessions.get(camera_id)
            if session is None or (session_id is not None and session.id != session_id):
                if session_id is None:
                    return
                raise UnknownSession(f"camera {camera_id!r} has no WHIP session {session_id!r}; it ended or was "
                                     "replaced by a newer publisher")
            await self._end(session, "hung up (DELETE)")

    async def _end(self, session: _Session, reason: str) -> None:
        if session.ended:
            return
        session.ended = True
        if self._sessions.get(session.camera_id) is session:
            del self._sessions[session.camera_id]
        self._feeds[session.camera_id].detach(session.id, reason)
        await asyncio.shield(session.pc.close())  # a cancelled caller must not leave the connection open
        for task in session.tasks:
            task.cancel()
        await asyncio.gather(*session.tasks, return_exceptions=True)
        log.info("whip.session_ended", camera_id=session.camera_id, session_id=session.id, reason=reason)

    async def close(self) -> None:
        for session in list(self._sessions.values()):
            await self._end(session, "ended: the service is stopping")
        if self._undo_ice is not None:
            self._undo_ice()
            self._undo_ice = None


def _check_offer(camera_id: str, sdp: str) -> None:
    if not sdp.lstrip().startswith("v=0"):
        raise BadOffer(f"camera {camera_id!r}: the body is not an SDP offer (it must start with 'v=0')")
    if "\nm=video " not in sdp.replace("\r\n", "\n"):
        raise BadOffer(f"camera {camera_id!r}: the SDP offer has no video media section (m=video); "
                       "publish a video track")
