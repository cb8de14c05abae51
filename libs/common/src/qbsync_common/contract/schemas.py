"""JSON Schema 2020-12 documents of every event's `data`, rendered deterministically."""

from __future__ import annotations

import json
from typing import Any

from qbsync_common.contract.bases import EventData
from qbsync_common.contract.envelope import Envelope

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_URI = "https://qbsync.dev/contracts/schemas/"


def schema_file_name(event_type: str) -> str:
    """File name of an event type's schema under contracts/schemas/."""
    return f"{event_type}.json"


def data_schema(model: type[EventData]) -> dict[str, Any]:
    """The JSON Schema an event's `data` must satisfy, with its type and exchange as annotations."""
    # Validation mode: the schema says what we accept; what we emit is always a subset of it.
    schema = model.model_json_schema(mode="validation")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": BASE_URI + schema_file_name(model.event_type),
        "x-event-type": model.event_type,
        "x-exchange": model.exchange,
        "x-direction": model.direction,
        **schema,
    }


def envelope_schema() -> dict[str, Any]:
    """The CloudEvents envelope's schema; `data` is refined per message type in the AsyncAPI."""
    return Envelope.model_json_schema(mode="validation")


def render_json(document: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, trailing newline, so diffs show real changes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
