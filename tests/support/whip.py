"""A real aiortc WebRTC publisher for WHIP tests: sends a generated video track to an offer/answer exchange."""

from __future__ import annotations

import fractions
from collections.abc import Awaitable, Callable

import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

from tests.support.media import numbered_picture


class NumberedTrack(VideoStreamTrack):
    """Frames showing their own number, paced by aiortc at 30 fps."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self._size = (width, height)
        self.sent = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        image: np.ndarray = numbered_picture(self.sent, *self._size)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = pts, fractions.Fraction(time_base)
        self.sent += 1
        return frame


class WhipPublisher:
    """Publishes one track; `exchange` posts the offer SDP somewhere (the handler or HTTP) and returns the answer."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.track = NumberedTrack()

    async def publish(self, exchange: Callable[[str], Awaitable[str]]) -> None:
        self.pc.addTransceiver(self.track, direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await exchange(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def close(self) -> None:
        await self.pc.close()
