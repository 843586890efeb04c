"""The published JSON Schema matches the AlertEvent model, and events round-trip through JSON."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from alerts.event import AlertEvent, EventType
from alerts.schema import SCHEMA_PATH, schema_text
from tests.alerts.conftest import check_schema
from tests.alerts.helpers import event


def test_docs_schema_is_the_one_the_model_generates() -> None:
    # If this fails, run `python -m alerts.schema` and review the diff: consumers read that file.
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


@pytest.mark.parametrize("kind", list(EventType))
def test_every_event_type_validates_and_round_trips(kind: EventType, event_schema: dict[str, Any]) -> None:
    original = event(3, kind=kind)
    assert check_schema(original.to_json(), event_schema) == original


def test_schema_refuses_an_event_without_its_id(event_schema: dict[str, Any]) -> None:
    data = json.loads(event(1).to_json())
    del data["id"]
    with pytest.raises(jsonschema.ValidationError, match="'id' is a required property"):
        jsonschema.validate(data, event_schema)


def test_times_are_iso_8601_utc_and_clip_covers_pre_and_post_roll() -> None:
    e: AlertEvent = event(0)
    assert e.started_at == "2025-06-15T15:06:40.000+00:00"
    assert (e.clip.start, e.clip.end) == ("2025-06-15T15:06:35.000+00:00", "2025-06-15T15:06:46.000+00:00")
    assert e.snapshot.path == "/api/cameras/line1/snapshot.jpg?t=1750000000.000"
