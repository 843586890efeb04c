"""The JSON Schema of AlertEvent as published in docs/; `python -m alerts.schema` rewrites the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alerts.event import SCHEMA_VERSION, AlertEvent

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "alert-event.schema.json"


def event_schema() -> dict[str, Any]:
    schema = AlertEvent.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://vigil.local/schemas/alert-event/v{SCHEMA_VERSION}.json"
    return schema


def schema_text() -> str:
    return json.dumps(event_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
