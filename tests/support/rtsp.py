"""Start and stop the GStreamer RTSP server (gst_rtsp_server.py) on a free loopback port."""

from __future__ import annotations

import select
import signal
import subprocess
import time
from pathlib import Path

from tests.support.net import free_port

SCRIPT = Path(__file__).with_name("gst_rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # has python3-gi; the venv does not need PyGObject


class RtspServer:
    """A real RTSP server process. `port` stays the same across stop()/start(), so a camera can reconnect."""

    def __init__(self, media: Path | None = None, port: int | None = None, width: int = 640, height: int = 360,
                 fps: int = 25) -> None:
        self.port = port or free_port()
        self._args = [SYSTEM_PYTHON, str(SCRIPT), str(self.port), "--width", str(width), "--height", str(height),
                      "--fps", str(fps)] + (["--file", str(media)] if media is not None else [])
        self._proc: subprocess.Popen[str] | None = None

    def url(self, mount: str = "/test") -> str:
        return f"rtsp://127.0.0.1:{self.port}{mount}"

    def start(self, timeout_s: float = 15.0) -> RtspServer:
        self._proc = subprocess.Popen(self._args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout_s)
        line = self._proc.stdout.readline().strip() if ready else ""
        if line != "ready":
            err = self._proc.stderr.read() if self._proc.poll() is not None and self._proc.stderr else ""
            self.stop()
            raise RuntimeError(f"GStreamer RTSP server did not start on port {self.port}: {line!r} {err}")
        return self

    def kill(self) -> None:
        """Crash it (SIGKILL): clients see their connection drop, as when a camera loses power."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def _end(self, sig: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(predicate: object, timeout_s: float, poll_s: float = 0.05) -> bool:
    """Poll a zero-argument callable until it returns true or `timeout_s` passes."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll_s)
    return bool(predicate())
