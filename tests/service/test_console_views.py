"""The console's live view, footage timeline, zone editor and small-screen layout, in Debian's Chromium.

The API app runs behind real uvicorn with in-memory ingest parts (a real FrameBuffer fed by a thread), a real
redis-server fed by the real AlertPublisher, and `vigil check-config` as a subprocess for the editor's YAML.
Set VIGIL_SCREENSHOTS=<dir> to keep screenshots (docs/screenshots/ holds the published ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from alerts.publisher import AlertPublisher
from config.settings import VigilSettings
from service.api import create_app
from service.embedded_redis import EmbeddedRedis
from service.http import HttpServer
from tests.service.api_fakes import Parts, make_context, settings
from tests.service.test_api_live import TickingCamera
from tests.service.test_console_browser import CHROMIUM, CHROMIUM_ARGS, chromium, jam_alert, screenshot

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium: make system-deps")
GLYPHS = "ĦŽǂ₪ꙮ" * 120  # what the untrained model's free text looks like: no spaces, any script


@contextlib.asynccontextmanager
async def live_console(redis_server: EmbeddedRedis, tmp_path: Path, alerts: int = 1,
                       vigil: VigilSettings | None = None) -> AsyncIterator[tuple[str, Parts]]:
    """The console over a camera whose ring gets a new picture every 0.3 s, with `alerts` jam alerts published."""
    vigil = vigil or settings()
    publisher = AlertPublisher(settings().redis, redis_server.url, tmp_path / "outbox")
    await publisher.start()
    for _ in range(alerts):
        await publisher.publish(jam_alert())
    await publisher.stop()
    parts = Parts()
    redis = Redis.from_url(redis_server.url)
    with TickingCamera(period_s=0.3).running() as camera:
        parts.ingest.buffers["line1"] = camera.buffer  # type: ignore[assignment]
        server = HttpServer(create_app(make_context(vigil, redis, parts)), "127.0.0.1", 0)
        await server.start()
        try:
            yield f"http://127.0.0.1:{server.port}", parts
        finally:
            await server.stop()
            await redis.aclose()


FRAME_HASH = """(selector) => {
  const img = document.querySelector(selector);
  if (!img || img.hidden || !img.naturalWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = 32; canvas.height = 18;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0, 32, 18);
  return Array.from(ctx.getImageData(0, 0, 32, 18).data).join(",");
}"""


async def frame_hash(page: Page, selector: str) -> str:
    await page.wait_for_function(f"() => ({FRAME_HASH})({selector!r}) !== null")
    value: str = await page.evaluate(FRAME_HASH, selector)
    return value


async def camera_page(browser: Browser, base: str, height: int) -> Page:
    """line1's camera page at 1440 px wide, once its live image shows a frame."""
    page = await browser.new_page(viewport={"width": 1440, "height": height})
    await page.goto(f"{base}/#/camera/line1")
    await frame_hash(page, "#camera-tile-slot img.snapshot")
    return page


async def test_live_view_changes_from_frame_to_frame(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    async with live_console(redis_server, tmp_path, alerts=0) as (base, _), chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await page.goto(base)
        selector = 'article[data-camera="line1"] img.snapshot'
        seen = {await frame_hash(page, selector)}
        assert "/live.mjpeg?ticket=" in (await page.get_attribute(selector, "src") or "")
        for _ in range(3):  # the same <img>, never reloaded, shows new pictures as the ring fills
            await page.wait_for_function(f"(seen) => !seen.includes(({FRAME_HASH})({selector!r}))", arg=list(seen))
            seen.add(await frame_hash(page, selector))
        assert len(seen) == 4
        await expect(page.locator('article[data-camera="line1"] .ask')).to_be_visible()
        await page.get_by_role("button", name="Wall view").click()
        await screenshot(page, "console-wall.png")


async def test_no_ask_box_when_the_engine_is_disabled(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    vigil = settings()
    vigil = vigil.model_copy(update={"engine": vigil.engine.model_copy(update={"enabled": False})})
    async with live_console(redis_server, tmp_path, alerts=0, vigil=vigil) as (base, _), chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await page.goto(base)
        tile, selector = page.locator('article[data-camera="line1"]'), 'article[data-camera="line1"] img.snapshot'
        await page.wait_for_function(f"() => ({FRAME_HASH})({selector!r}) !== null")  # the tiles have rendered
        await expect(tile.locator(".badge")).not_to_have_text("disabled")
        await expect(tile.locator(".ask")).to_be_hidden()


async def test_timeline_shows_alert_markers_seeks_and_exports_a_clip(redis_server: EmbeddedRedis,
                                                                     tmp_path: Path) -> None:
    async with live_console(redis_server, tmp_path) as (base, parts), chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 1100})
        await page.goto(f"{base}/#/camera/line1")
        marker = page.locator('#footage-track .marker[data-alert-id="occ-jam"]')
        await expect(marker).to_have_count(1)
        await expect(page.locator("#footage-track .span")).to_have_count(2)  # the fake store holds a gap
        # The viewer opens on the newest stored frame; a click on the marker replaces it with the alert's.
        await page.wait_for_function("() => document.getElementById('footage-image').naturalWidth > 0")
        newest = await page.get_attribute("#footage-image", "src")
        await marker.click()
        await page.wait_for_function("(before) => { const img = document.getElementById('footage-image');"
                                     " return img.src !== before && img.complete && img.naturalWidth > 0; }",
                                     arg=newest)
        async with httpx.AsyncClient(base_url=base) as client:
            published = (await client.get("/api/alerts", params={"camera": "line1"})).json()["alerts"][0]
        marker_t = _unix(published["started_at"])
        assert await page.locator("#footage-image").get_attribute("alt") == f"line1 at {await shown(page, marker_t)}"
        before = await page.locator("#footage-time").inner_text()
        await page.get_by_role("button", name="Clip starts here").click()
        seek = page.get_by_label("Footage time")
        await expect(page.locator("#footage-range")).to_have_value("600")  # fitted to the 10 minutes retained
        for _ in range(15):
            await seek.press("ArrowRight")  # the keyboard seeks too: 15 steps of 0.6 s
        await expect(page.locator("#footage-time")).not_to_have_text(before)
        await page.get_by_role("button", name="Clip ends here").click()
        await expect(page.locator("#footage-track .track-selection")).to_be_visible()
        await page.locator("#footage-heading").scroll_into_view_if_needed()
        await screenshot(page, "console-timeline.png")
        await page.get_by_role("button", name="Export clip").click()
        await page.wait_for_function("() => document.getElementById('clip-video').readyState >= 2", timeout=20_000)
        clip = next(t for kind, camera, t in reversed(parts.footage.calls) if kind == "clip")
        # The chosen range: from the alert's start (not its clip's pre-roll, 5 s earlier) to 15 seek steps later.
        assert abs(clip[0] - marker_t) < 0.01
        assert 7 < clip[1] - clip[0] < 11


async def shown(page: Page, t: float) -> str:
    """How the console writes the time t (its dateTime(), in the browser's locale)."""
    text: str = await page.evaluate("async (t) => (await import('/static/dom.js')).dateTime(t)", t)
    return text


def _unix(iso: str) -> float:
    from alerts.event import unix

    return unix(iso)


async def click_at(page: Page, points: list[tuple[float, float]]) -> None:
    image = page.locator("#camera-tile-slot img.snapshot")
    await image.scroll_into_view_if_needed()
    box = await image.bounding_box()
    assert box is not None
    for x, y in points:
        await page.mouse.click(box["x"] + x * box["width"], box["y"] + y * box["height"])


def check_config(snippets: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    body = "cameras:\n  - id: line1\n    source: {type: synthetic}\nrules:\n"
    body += "".join(f"  {line}\n" for snippet in snippets for line in snippet.splitlines())
    path = folder / "drawn.yaml"
    path.write_text(body)
    return subprocess.run([sys.executable, "-m", "service.cli", "check-config", str(path)], capture_output=True,
                          text=True, timeout=120)


async def test_a_polygon_drawn_in_the_editor_yields_yaml_that_check_config_accepts(redis_server: EmbeddedRedis,
                                                                                   tmp_path: Path) -> None:
    async with live_console(redis_server, tmp_path, alerts=0) as (base, _), chromium() as browser:
        page = await camera_page(browser, base, height=1100)
        await page.get_by_label("Condition").select_option("presence")
        await page.get_by_role("button", name="Draw region").click()
        await click_at(page, [(0.2, 0.5), (0.6, 0.45), (0.7, 0.9), (0.15, 0.9)])
        status = page.locator("#zone-status")
        await expect(status).to_contain_text("vigil check-config accepts this rule")
        zone = await page.locator("#zone-yaml").inner_text()
        assert "type: presence" in zone and "region: [[0.2, 0.5], [0.6, 0.45], [0.7, 0.9], [0.15, 0.9]]" in zone
        await page.get_by_role("button", name="Clear").click()
        await page.get_by_label("Condition").select_option("motion")
        await page.get_by_role("button", name="Draw region").click()
        await click_at(page, [(0.05, 0.3), (0.95, 0.3), (0.95, 0.7), (0.05, 0.7)])
        await page.get_by_role("button", name="Draw direction").click()
        await click_at(page, [(0.3, 0.5), (0.7, 0.5)])  # the belt moves to the right
        await expect(page.locator("#zone-yaml")).to_contain_text("direction: [1.0, 0.0]")
        await expect(status).to_contain_text("vigil check-config accepts this rule")
        await screenshot(page, "console-zone-editor.png")
        belt = (await page.locator("#zone-yaml").inner_text()).replace("line1-motion", "line1-belt")
    result = await asyncio.to_thread(check_config, [zone, belt], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule" in result.stdout or "line1-belt" in result.stdout


async def no_horizontal_overflow(page: Page) -> None:
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px viewport"


async def test_nothing_overflows_a_390_px_screen_even_a_wall_of_glyphs(redis_server: EmbeddedRedis,
                                                                       tmp_path: Path) -> None:
    async with live_console(redis_server, tmp_path) as (base, parts), chromium() as browser:
        async def glyph_wall(*_: object, **__: object) -> object:
            from engine.api import TextAnswer, TimeRange

            return TextAnswer("line1", "q", GLYPHS, TimeRange(0.0, 1.0), 5.0)

        parts.engine.ask_text = glyph_wall  # type: ignore[method-assign]
        page = await browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        await page.goto(base)
        tile = page.locator('article[data-camera="line1"]')
        await tile.get_by_label("Question").fill("What is on the belt?")
        await tile.get_by_label("Answer").select_option("text")
        await tile.get_by_role("button", name="Ask").click()
        await expect(tile.locator(".answer .value")).to_contain_text("ĦŽǂ")
        await no_horizontal_overflow(page)
        answer = await tile.locator(".answer").bounding_box()
        assert answer is not None and answer["x"] + answer["width"] <= 390
        await screenshot(page, "console-390px.png")
        await page.goto(f"{base}/#/camera/line1")
        await expect(page.locator("#footage-track .marker")).to_have_count(1)
        await no_horizontal_overflow(page)


async def test_headless_chromium_with_a_virtual_time_budget_finishes_and_shows_the_cameras(
        redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    async with live_console(redis_server, tmp_path) as (base, _):
        with tempfile.TemporaryDirectory() as profile:
            args = [CHROMIUM, "--headless", *CHROMIUM_ARGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                    "--dump-dom", base]
            process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                           stderr=asyncio.subprocess.DEVNULL)
            try:  # a page that never stops loading (an open EventSource) hangs it: bounded, generously
                dom, _ = await asyncio.wait_for(process.communicate(), timeout=90)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
    html = dom.decode()
    assert process.returncode == 0
    assert 'data-camera="line1"' in html and "Line 1" in html
    assert "/live.mjpeg?ticket=" in html
    assert 'data-alert-id="occ-jam"' in html


# An alert as detectors being built add to it: people's boxes (with whether each stands in the zone) and a
# belt's speed against its normal speed. The console reads such fields generically, whatever their exact names.
MEASURED = """async () => {
  const list = await import('/static/alert_list.js');
  const now = Date.now() / 1000;
  const iso = (t) => new Date(t * 1000).toISOString();
  const base = {schema_version: 1, seq: 0, type: 'started', camera: 'line1', score: 0.9, peak_score: 0.9,
    question: null, explanation: null, started_at: iso(now - 4), ended_at: null, emitted_at: iso(now),
    snapshot: {camera: 'line1', at: iso(now - 4), path: ''}, clip: {camera: 'line1', start: iso(now - 9),
    end: iso(now), path: ''}};
  list.addAlert({...base, event_id: 'p/0', id: 'p', rule: 'person', condition: 'presence', severity: 'critical',
    count: 2, people: [{box: [0.30, 0.20, 0.42, 0.75], in_zone: true, track_id: 7},
                       {box: [0.62, 0.25, 0.72, 0.70], in_zone: false, track_id: 9}]});
  list.addAlert({...base, event_id: 'b/0', id: 'b', rule: 'belt', condition: 'conveyor', severity: 'warning',
    speed_px_s: 8.1, normal_speed_px_s: 32.4, stopped_below_pct: 15, clear_above_pct: 40});
}"""


async def test_detector_measurements_are_drawn_on_the_live_image_and_listed(redis_server: EmbeddedRedis,
                                                                           tmp_path: Path) -> None:
    async with live_console(redis_server, tmp_path, alerts=0) as (base, _), chromium() as browser:
        page = await camera_page(browser, base, height=1000)
        await page.evaluate(MEASURED)
        boxes = page.locator("#camera-tile-slot .overlay .detections rect.box")
        await expect(boxes).to_have_count(2)
        await expect(page.locator("#camera-tile-slot .overlay rect.box.outside")).to_have_count(1)
        ground = page.locator("#camera-tile-slot .overlay .detections ellipse.ground").first
        # The ground point is the bottom centre of the box: where the person stands.
        assert (await ground.get_attribute("cx"), await ground.get_attribute("cy")) == ("0.36", "0.75")
        figures = page.locator("#detector-figures")
        await expect(figures).to_contain_text("8.1 px/s = 25 % of normal (32.4 px/s)")
        await expect(figures.locator(".gauge-mark")).to_have_count(3)  # normal, stop and clear thresholds
        await expect(figures).to_contain_text("stopped below")
        await expect(page.locator('#alert-list li[data-alert-id="p"]')).to_contain_text("count")
        await screenshot(page, "console-detections.png")
