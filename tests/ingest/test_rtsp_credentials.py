"""A camera password with URL delimiters reaches the camera intact (FFmpeg decodes the percent-encoding the loader
adds) and is never quoted in the error a refusal produces."""

from __future__ import annotations

import base64
import socket
import threading
from pathlib import Path

import pytest

from config import load_settings
from ingest.errors import SourceError
from ingest.sources.rtsp import RtspSource
from tests.support.net import free_port

PASSWORDS = ["Sl/ash", "sp ace", "at@sign", "q?h#p%25", "co:lon", "all/ @?#%:[]!$&'()*+,;="]


class RefusingCamera:
    """A minimal RTSP responder on loopback: answers every request 401 with a Basic challenge and records the
    credentials the client sends (FFmpeg retries the DESCRIBE with an Authorization header)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.credentials: list[str] = []
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RefusingCamera:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.close()
        self._thread.join(5)

    def _serve(self) -> None:
        try:
            conn, _ = self._server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            while (request := _read_request(conn)) is not None:
                self.credentials += [base64.b64decode(line.split()[-1]).decode() for line in request
                                     if line.lower().startswith("authorization: basic")]
                cseq = next((line.split(":", 1)[1].strip() for line in request if line.lower().startswith("cseq")),
                            "1")
                conn.sendall(f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n"
                             'WWW-Authenticate: Basic realm="cam"\r\n\r\n'.encode())


def _read_request(conn: socket.socket) -> list[str] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = conn.recv(4096)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data.decode(errors="replace").split("\r\n")


class _Counters:
    def frame_in(self) -> None:
        pass

    def drop(self, reason: str, count: int = 1) -> None:
        pass


@pytest.mark.parametrize("password", PASSWORDS)
def test_the_camera_receives_the_password_as_written_and_errors_do_not_show_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str) -> None:
    monkeypatch.setenv("PW", password)
    with RefusingCamera() as camera:
        path = tmp_path / "vigil.yaml"
        path.write_text(f'cameras:\n  - id: cam\n    source: {{type: rtsp, url: "rtsp://admin:${{PW}}@127.0.0.1:'
                        f'{camera.port}/s", open_timeout_s: 5, read_timeout_s: 5}}\n')
        settings = load_settings(path).cameras[0].source
        source = RtspSource("cam", settings, _Counters(), watchdog_s=5.0)  # type: ignore[arg-type]
        with pytest.raises(SourceError) as refused:
            source.open()
        source.close()
    assert f"admin:{password}" in camera.credentials
    assert "refused the credentials" in str(refused.value)
    assert password not in str(refused.value) and "rtsp://***@127.0.0.1" in str(refused.value)
