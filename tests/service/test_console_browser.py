"""The web console in a real Chromium (Debian's, headless) driven by Playwright.

Two set-ups: the API app with in-memory parts behind real uvicorn and a real redis-server fed by the real
AlertPublisher (fast, always runs), and a real `vigil run` on a demo-like config (the whole service).
Set VIGIL_SCREENSHOTS=<dir> to keep screenshots of the console (docs/screenshots/ holds the published ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from redis.asyncio import Redis

from alerts.event import AlertEvent, iso
from alerts.publisher import AlertPublisher
from service.api import create_app
from service.embedded_redis import EmbeddedRedis, free_port
from service.http import HttpServer
from tests.service.api_fakes import TOKEN, Parts, make_context, settings
from tests.support.vigil import demo_config, log_tail, vigil_run, write_config

CHROMIUM = "/usr/bin/chromium"
# platform-notes §8: without the background-networking flags Chromium keeps dialling out of a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium: make system-deps")
# Every expect() waits for its condition; Playwright's default 5 s bound was shorter than a render on a loaded CI
# machine (a camera page's heading missed it under `make test-under-load`). The bound only ends a real hang.
expect.set_options(timeout=60_000)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def console(redis_server: EmbeddedRedis, token: str | None = None) -> AsyncIterator[str]:
    redis = Redis.from_url(redis_server.url)
    server = HttpServer(create_app(make_context(settings(token=token), redis, Parts())), "127.0.0.1", 0)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()
        await redis.aclose()


def jam_alert(camera: str = "line1") -> AlertEvent:
    now = time.time()
    return AlertEvent(
        event_id="occ-jam/0", id="occ-jam", seq=0, type="started", rule="jam", camera=camera, condition="motion",
        severity="critical", score=0.93, peak_score=0.93, started_at=iso(now - 8), emitted_at=iso(now),
        snapshot={"camera": camera, "at": iso(now - 8), "path": f"/api/cameras/{camera}/snapshot.jpg?t={now - 8}"},
        clip={"camera": camera, "start": iso(now - 13), "end": iso(now - 1),
              "path": f"/api/cameras/{camera}/clip.mp4?start={now - 13}&end={now - 1}"},
    )


async def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("VIGIL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / name))


async def expect_image(page: Page, camera: str) -> None:
    await page.wait_for_function(
        f"() => {{ const img = document.querySelector('article[data-camera=\"{camera}\"] img.snapshot');"
        " return img && !img.hidden && img.naturalWidth > 0; }")


async def play_first_clip(page: Page, alert_id: str) -> None:
    await page.locator(f'#alert-list li[data-alert-id="{alert_id}"] button.play').click()
    await page.wait_for_function("() => document.getElementById('clip-video').readyState >= 2", timeout=20_000)


async def test_console_shows_image_live_alert_playable_clip_and_answer(redis_server: EmbeddedRedis,
                                                                      tmp_path: Path) -> None:
    publisher = AlertPublisher(settings().redis, redis_server.url, tmp_path / "outbox")
    await publisher.start()
    async with console(redis_server) as base, chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await page.goto(base)
        await expect_image(page, "line1")
        tile = page.locator('article[data-camera="line1"]')
        await expect(tile.locator(".badge")).to_have_text("streaming")
        await expect(page.locator("#model-note")).to_contain_text("tiny — untrained, mechanics only")
        await expect(page.locator("#live")).to_have_text("Live")
        await publisher.publish(jam_alert())  # after the page loaded: it must arrive without a reload
        item = page.locator('#alert-list li[data-alert-id="occ-jam"]')
        await expect(item).to_contain_text("jam · line1")
        await expect(item).to_have_class("alert critical started")
        await tile.get_by_label("Question").fill("Is the conveyor belt jammed?")
        await tile.get_by_role("button", name="Ask").click()
        await expect(tile.locator(".answer")).to_contain_text("P(yes) = 0.25")
        await expect(tile.locator(".answer")).to_contain_text("tiny — untrained, mechanics only")
        await screenshot(page, "console-overview.png")
        await play_first_clip(page, "occ-jam")
        await screenshot(page, "console-clip.png")
    await publisher.stop()


async def test_console_camera_page_charts_rule_scores_and_lists_its_alerts(redis_server: EmbeddedRedis,
                                                                          tmp_path: Path) -> None:
    publisher = AlertPublisher(settings().redis, redis_server.url, tmp_path / "outbox")
    await publisher.start()
    await publisher.publish(jam_alert())
    await publisher.stop()
    async with console(redis_server) as base, chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await page.goto(base)
        await page.get_by_role("link", name="Line 1").click()
        await expect(page.locator("#camera-heading")).to_have_text("Line 1")
        await expect(page.locator('#rule-list li[data-rule="jam"] .latest')).to_contain_text("now 0.90")
        await expect(page.locator('#rule-list li[data-rule="jam_q"] .caveat')).to_have_text(
            "tiny — untrained, mechanics only")  # a question rule's score is the untrained model's answer
        # One alert list, filtered to the camera: not a second copy beside it.
        await expect(page.locator('#alert-list li[data-alert-id="occ-jam"]')).to_have_count(1)
        await expect(page.locator("#alert-filters select[name=camera]")).to_have_value("line1")
        await expect(page.locator("#overview")).to_be_hidden()
        await screenshot(page, "console-camera.png")


async def test_console_asks_for_the_token_once_per_session(redis_server: EmbeddedRedis) -> None:
    async with console(redis_server, token=TOKEN) as base, chromium() as browser:
        page = await browser.new_page()
        await page.goto(base)
        await expect(page.get_by_label("API token")).to_be_focused()
        await page.keyboard.type(TOKEN)
        await page.keyboard.press("Enter")
        await expect_image(page, "line1")
        await expect(page.locator("#live")).to_have_text("Live")
        await page.reload()  # the token survives a reload of the tab (sessionStorage), so no prompt again
        await expect_image(page, "line1")
        await expect(page.locator("#token-form")).to_be_hidden()
        assert await page.evaluate("sessionStorage.getItem('vigil.token')") == TOKEN


# ---- the whole service: `vigil run` on a demo-like config -------------------------------------------------

JAM_START_S = 12  # late enough that the page is open before the jam alert exists


@contextlib.contextmanager
def demo_run(tmp_path: Path) -> Iterator[str]:
    """`vigil run` on config/demo.yaml with the jam early in the scene; asserts a clean exit on SIGTERM."""
    port = free_port()
    data = demo_config(tmp_path, port)
    data["cameras"][0]["source"]["events"] = [{"kind": "jam", "start_s": JAM_START_S, "duration_s": 60}]
    with vigil_run(write_config(tmp_path, data), port, tmp_path / "state") as running:
        yield running.base
    assert running.exit_code == 0, f"vigil run did not stop cleanly on SIGTERM:\n{log_tail(running.log_path)}"


async def ask_until_answered(tile: Locator, attempts: int = 20) -> str:
    """The engine may not have encoded a first group yet: ask again until it answers."""
    answer, text = tile.locator(".answer"), ""
    for _ in range(attempts):
        await tile.get_by_role("button", name="Ask").click()
        await expect(tile.get_by_role("button", name="Ask")).to_be_enabled(timeout=60_000)
        text = await answer.inner_text()
        if "P(yes)" in text:
            return text
        await asyncio.sleep(2)
    raise AssertionError(f"the ask box never answered; last: {text!r}")


@pytest.mark.slow
async def test_console_on_vigil_run_shows_image_live_jam_alert_clip_and_answer(tmp_path: Path) -> None:
    # The browser outlives the service: `vigil run` must stop cleanly on SIGTERM with a console still open.
    async with chromium() as browser:
        with demo_run(tmp_path) as base:
            page = await browser.new_page(viewport={"width": 1600, "height": 1000})
            await page.goto(base)
            await expect_image(page, "line1")
            await expect(page.locator("#live")).to_have_text("Live")
            await page.evaluate("() => { window.loadedOnce = true; }")  # gone if the page were reloaded
            history = httpx.get(f"{base}/api/alerts", params={"rule": "conveyor_jam"}).json()["alerts"]
            assert history == [], "the jam alert existed before the page opened: the test proves nothing live"
            jam = page.locator("#alert-list li.critical", has_text="conveyor_jam · line1").first
            await expect(jam).to_be_visible(timeout=90_000)
            assert await page.evaluate("() => window.loadedOnce === true")
            tile = page.locator('article[data-camera="line1"]')
            await tile.get_by_label("Question").fill("Is the conveyor belt jammed?")
            answer = await ask_until_answered(tile)
            assert "tiny — untrained, mechanics only" in answer
            await screenshot(page, "console-live.png")
            await jam.locator("button.play").click()
            await page.wait_for_function("() => document.getElementById('clip-video').readyState >= 2",
                                         timeout=30_000)
            await screenshot(page, "console-live-clip.png")
            await page.keyboard.press("Escape")  # closes the clip dialog
            await page.get_by_role("link", name="Line 1 conveyor (synthetic)").click()
            await expect(page.locator('#rule-list li[data-rule="conveyor_jam"] .latest')).to_contain_text("now ")
            await screenshot(page, "console-live-camera.png")
