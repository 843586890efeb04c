"""How a PyAV/OS error becomes a SourceError: the meaning comes from the error, never from digits in the URL."""

from __future__ import annotations

import pytest

from ingest.sources.decode import translate


@pytest.mark.parametrize("port", [40457, 40112, 54040, 14014])
def test_a_refused_connection_is_not_read_as_a_status_code_in_the_port(port: int) -> None:
    error = ConnectionRefusedError(f"[Errno 111] Connection refused: 'rtsp://127.0.0.1:{port}/test'")
    message = str(translate(error, "camera 'c'", "retrying"))
    assert "nothing accepts connections" in message
    assert "no stream at this path" not in message and "refused the credentials" not in message


@pytest.mark.parametrize(("text", "meaning"), [
    ("method DESCRIBE failed: 404 Not Found", "no stream at this path"),
    ("method DESCRIBE failed: 401 Unauthorized", "refused the credentials"),
])
def test_status_codes_are_read_with_their_reason_phrase(text: str, meaning: str) -> None:
    assert meaning in str(translate(OSError(text), "camera 'c'", "retrying"))
