"""Client-side commands that talk to a running service: `vigil ask` and `vigil alerts tail`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from config.errors import VigilError
from config.loader import redact_url
from config.settings import VigilSettings
from service.api.ask import ASK_TIMEOUT_S
from service.app import read_runtime


class ServiceUnreachable(VigilError):
    """No running service answered at the expected address."""


def _api_url(settings: VigilSettings, url: str | None) -> str:
    if url:
        return url.rstrip("/")
    runtime = read_runtime(settings.state_dir).get("api_url")
    return runtime or f"http://{settings.api.host}:{settings.api.port}"


def _headers(settings: VigilSettings) -> dict[str, str]:
    token = os.environ.get("VIGIL_API_TOKEN") or (settings.api.token.get_secret_value() if settings.api.token else "")
    return {"Authorization": f"Bearer {token}"} if token else {}


def ask(settings: VigilSettings, camera: str, question: str, yes_no: bool, window: float | None,
        url: str | None) -> int:
    base = _api_url(settings, url)
    body = {"question": question, "mode": "yes_no" if yes_no else "text", "window_s": window}
    path = f"/api/cameras/{quote(camera, safe='')}/ask"
    try:
        # longer than the server's own limit, so a slow engine is reported by the server (504), not as absent
        response = httpx.post(base + path, json=body, headers=_headers(settings), timeout=ASK_TIMEOUT_S + 15)
    except httpx.TimeoutException as exc:
        raise ServiceUnreachable(f"{base} did not answer within {ASK_TIMEOUT_S + 15:.0f} s") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ServiceUnreachable(f"no Vigil service at {base} ({exc}); start it with `vigil run`") from exc
    try:
        data = response.json()
    except ValueError as exc:
        reason = f"{base} answered {response.status_code} without JSON: is it a Vigil service?"
        raise ServiceUnreachable(reason) from exc
    if response.status_code != 200:
        sys.stderr.write(f"vigil ask: {response.status_code}: {data.get('error', data)}\n")
        return 1
    sys.stdout.write(format_answer(data) + "\n")
    return 0


def format_answer(data: dict[str, Any]) -> str:
    """The answer, then what it saw and how long it took; the model's caveat when it is not a detection."""
    answer = f"P(yes) = {data['p_yes']:.3f}" if data.get("p_yes") is not None else str(data.get("text"))
    seen = data["seen"]
    lines = [answer, f"saw {_clock(seen['start'])} - {_clock(seen['end'])}, answered in {data['latency_ms']:.0f} ms"]
    for gap in seen.get("gaps") or []:
        lines.append(f"not seen: {_clock(gap['start'])} - {_clock(gap['end'])} ({gap['chunks']} chunk(s) of the "
                     "cache were refused on restore; see the engine's quarantine folder)")
    if data.get("model_note"):
        lines.append(f"note: {data['model_note']}")
    return "\n".join(lines)


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%H:%M:%S")


async def alerts_tail(settings: VigilSettings, group: str | None, as_json: bool, count: int | None) -> int:
    from alerts.tail import tail

    url = settings.redis.url.get_secret_value() if settings.redis.url else read_runtime(settings.state_dir).get(
        "redis_url")
    if not url:
        raise ServiceUnreachable(f"no Redis to read: redis.url is unset and no service is running on "
                                 f"state_dir {settings.state_dir} (start it with `vigil run`)")
    stop, ready = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C ends the loop between two reads: no command is cut off
        loop.add_signal_handler(sig, stop.set)
    where = url if settings.redis.url else _embedded_url(settings.state_dir, url)
    following = asyncio.create_task(tail(where, settings.redis.stream, group=group, as_json=as_json,
                                         out=sys.stdout, count=count, stop=stop, ready=ready))
    await _say_when_following(ready, following, f"following {settings.redis.stream} on {redact_url(url)}\n")
    await following
    return 0


def _embedded_url(state_dir: Path, first: str) -> Callable[[], str]:
    """The embedded Redis's URL as the run file names it now (a restarted service may use another port)."""
    last = [first]

    def current() -> str:
        last[0] = str(read_runtime(state_dir).get("redis_url") or last[0])
        return last[0]
    return current


async def _say_when_following(ready: asyncio.Event, following: asyncio.Task[None], line: str) -> None:
    """Tell stderr once the tail follows the stream (a script may wait for this line), unless it ended first."""
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([waiting, following], return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if ready.is_set():
        sys.stderr.write(line)
        sys.stderr.flush()


def info(settings: VigilSettings) -> int:
    """`vigil info`: every address of the service on this config: its run file's when it runs, else the config's."""
    runtime = read_runtime(settings.state_dir)
    pid = runtime.get("pid")
    running = pid is not None and _alive(int(pid))
    api = settings.api
    host = f"[{api.host}]" if ":" in api.host else api.host
    base = (runtime.get("api_url") if running else None) or f"http://{host}:{_port(api.port)}"
    if settings.redis.url is not None:
        redis = f"{redact_url(settings.redis.url.get_secret_value())} (redis.url)"
    else:
        embedded = runtime.get("redis_url") if running else None
        redis = f"{embedded or f'redis://127.0.0.1:{_port(settings.redis.embedded_port)}/0'} (embedded)"
    state = f"running, pid {pid}" if running else "not running: configured addresses"
    lines = [f"service  {state} (state_dir {settings.state_dir})"]
    if api.enabled:
        lines += [f"console  {base}/", f"api      {base}/api/cameras (OpenAPI {base}/openapi.json)",
                  f"metrics  {base}/metrics"]
    lines += [f"redis    {redis}, stream {settings.redis.stream}"]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _port(port: int) -> str:
    """A configured port as `vigil info` shows it before the service runs: 0 is a free port picked at start."""
    return str(port) if port else "<free port picked at start>"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
