"""WebRTC cameras: a real aiortc publisher over the WHIP session handler, on loopback only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ingest.errors import BadOffer, UnknownCamera
from ingest.manager import IngestManager
from tests.ingest.conftest import StatusLog, camera
from tests.support.whip import WhipPublisher

LOOPBACK = {"type": "webrtc", "ice_host_addresses": ["127.0.0.1"]}


@pytest.fixture
async def manager() -> AsyncIterator[tuple[IngestManager, StatusLog]]:
    statuses = StatusLog()
    cameras = [camera("dock", LOOPBACK, fps=5.0, watchdog_s=5), camera("syn", {"type": "synthetic"})]
    manager = IngestManager(cameras, None, statuses)
    manager.start()
    try:
        yield manager, statuses
    finally:
        await manager.stop()


async def wait_for(predicate: object, timeout_s: float) -> bool:
    assert callable(predicate)
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return bool(predicate())


async def publish(manager: IngestManager, camera_id: str = "dock") -> tuple[WhipPublisher, str]:
    publisher, session = WhipPublisher(), ""

    async def exchange(offer: str) -> str:
        nonlocal session
        answer, session = await manager.whip.offer(camera_id, offer)
        return answer

    await publisher.publish(exchange)
    return publisher, session


async def test_whip_publisher_delivers_frames_to_the_camera_buffer(manager: tuple[IngestManager, StatusLog]) -> None:
    ingest, statuses = manager
    assert statuses.states("dock") == ["connecting"]  # waiting for a publisher
    publisher, _ = await publish(ingest)
    try:
        assert await wait_for(lambda: ingest.buffer("dock").next_seq >= 5, 15)
    finally:
        await publisher.close()
    frame = ingest.buffer("dock").latest()
    assert frame is not None and frame.image.shape == (240, 320, 3)
    assert statuses.states("dock")[:2] == ["connecting", "streaming"]
    stats = ingest.stats("dock")
    assert stats.frames_in > stats.frames_sampled > 0


async def test_answer_offers_only_the_configured_loopback_host_candidate(
        manager: tuple[IngestManager, StatusLog]) -> None:
    ingest, _ = manager
    publisher = WhipPublisher()
    answers: list[str] = []

    async def exchange(offer: str) -> str:
        answer, _ = await ingest.whip.offer("dock", offer)
        answers.append(answer)
        return answer

    await publisher.publish(exchange)
    await publisher.close()
    candidates = [line for line in answers[0].splitlines() if line.startswith("a=candidate:")]
    assert candidates and all(" 127.0.0.1 " in line and "typ host" in line for line in candidates)


async def test_second_publisher_replaces_the_first_and_delete_ends_the_session(
        manager: tuple[IngestManager, StatusLog]) -> None:
    ingest, statuses = manager
    first, first_id = await publish(ingest)
    assert await wait_for(lambda: ingest.buffer("dock").next_seq >= 2, 15)
    second, second_id = await publish(ingest)
    try:
        assert ingest.whip.session_id("dock") == second_id != first_id
        seen = ingest.buffer("dock").next_seq
        assert await wait_for(lambda: ingest.buffer("dock").next_seq >= seen + 3, 15)
        assert "backoff" not in statuses.states("dock")  # the stream continued across the replacement
        with pytest.raises(UnknownCamera, match="no WHIP session"):
            await ingest.whip.delete("dock", first_id)
        await ingest.whip.delete("dock", second_id)
        assert await wait_for(lambda: "backoff" in statuses.states("dock"), 5)
    finally:
        await first.close()
        await second.close()
    assert ingest.whip.session_id("dock") is None
    assert "hung up" in next(e.reason for e in statuses.of("dock") if e.state.value == "backoff")


async def test_malformed_or_videoless_offers_are_refused_and_unknown_cameras_are_not_found(
        manager: tuple[IngestManager, StatusLog]) -> None:
    ingest, _ = manager
    with pytest.raises(BadOffer, match=r"'dock'.*not an SDP offer"):
        await ingest.whip.offer("dock", "hello")
    with pytest.raises(BadOffer, match="no video media section"):
        await ingest.whip.offer("dock", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
    with pytest.raises(BadOffer, match="cannot be answered"):
        await ingest.whip.offer("dock", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=garbage\r\n")
    with pytest.raises(UnknownCamera, match="'nope'"):
        await ingest.whip.offer("nope", "v=0\r\n")
    with pytest.raises(UnknownCamera, match="'syn'"):
        await ingest.whip.offer("syn", "v=0\r\n")
    assert ingest.whip.session_id("dock") is None
    assert await wait_for(lambda: ingest.buffer("syn").next_seq > 0, 10)  # the other camera never noticed
