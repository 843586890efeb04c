"""schemathesis against a running `vigil run`: every answer conforms to the OpenAPI the service publishes.

Generated requests (valid and invalid) go to every operation but the live streams (SSE and MJPEG: they never
end); each answer must be no 5xx, carry a status the schema lists for that operation, the documented content type
and a body that matches the documented schema (errors included: `{"error": ...}`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.net import free_port
from tests.support.vigil import Running, vigil_run, write_config

schemathesis.serializer.alias("application/sdp", "text/plain")  # a WHIP offer is SDP text
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _config(tmp_path: Path, port: int) -> dict[str, Any]:
    return {
        "state_dir": str(tmp_path / "state"),
        "engine": {"enabled": False},
        "api": {"host": "127.0.0.1", "port": port},  # loopback, no token: tests/service/test_api_auth.py covers 401
        "cameras": [
            {"id": "line1", "fps": 2, "source": {"type": "synthetic", "seed": 7, "width": 160, "height": 96,
                                                 "fps": 5}},
            {"id": "dock", "source": {"type": "webrtc", "ice_host_addresses": ["127.0.0.1"]}},
        ],
        "rules": [{"id": "line1_offline", "cameras": "all", "condition": {"type": "camera_offline"}}],
    }


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp_path = tmp_path_factory.mktemp("schema")
    port = free_port()
    with vigil_run(write_config(tmp_path, _config(tmp_path, port)), port, tmp_path / "state") as running:
        yield running
    assert running.exit_code == 0


@pytest.fixture(scope="module")
def api_schema(service: Running) -> Any:
    loaded = schemathesis.openapi.from_url(f"{service.base}/openapi.json")
    # the SSE stream and the MJPEG live view never end: they are tested in test_api_alerts.py and test_api_live.py
    return loaded.exclude(path="/api/alerts/stream").exclude(path="/api/cameras/{camera_id}/live.mjpeg")


@pytest.mark.slow
def test_every_answer_conforms_to_the_published_schema(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12  # every route but the stream (and the unlisted console) is generated for
    for operation in operations:  # one hypothesis run per operation (schemathesis' pytest plugin needs pytest < 9)
        _check_operation(operation)


def _check_operation(operation: Any) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    check()
