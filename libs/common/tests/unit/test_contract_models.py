"""Every event model: its example validates against the model and the exported JSON Schema."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from qbsync_common.contract.bases import EVENTS_EXCHANGE, RESULTS_EXCHANGE, EventData
from qbsync_common.contract.events import ALL_EVENTS
from qbsync_common.contract.registry import EVENT_TYPES, event_type_of, exchange_of
from qbsync_common.contract.schemas import data_schema

TYPE_NAME = re.compile(r"^qbsync\.[a-z_]+\.[a-z_]+\.v1$")


def examples_of(model: type[EventData]) -> list[dict[str, Any]]:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    examples = extra["examples"]
    assert isinstance(examples, list)
    return examples  # type: ignore[return-value]


def all_properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, property schema) for the model and every nested model in $defs."""
    found = list(schema.get("properties", {}).items())
    for nested in schema.get("$defs", {}).values():
        found += list(nested.get("properties", {}).items())
    return found


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda m: m.event_type)
def test_example_validates_against_model_and_schema(model: type[EventData]) -> None:
    schema = data_schema(model)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    examples = examples_of(model)
    assert examples, f"{model.__name__} has no example"
    for example in examples:
        instance = model.model_validate(example)
        # What we would put on the wire must satisfy the schema we publish.
        wire = instance.model_dump(mode="json")
        assert sorted(e.message for e in validator.iter_errors(wire)) == []
        assert sorted(e.message for e in validator.iter_errors(example)) == []


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda m: m.event_type)
def test_every_field_is_described(model: type[EventData]) -> None:
    schema = data_schema(model)
    assert schema.get("description"), f"{model.__name__} needs a docstring"
    undocumented = [name for name, prop in all_properties(schema) if not prop.get("description")]
    assert undocumented == []


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda m: m.event_type)
def test_type_names_and_exchanges_follow_the_convention(model: type[EventData]) -> None:
    assert TYPE_NAME.match(model.event_type)
    assert event_type_of(model) == model.event_type
    expected = RESULTS_EXCHANGE if model.direction == "result" else EVENTS_EXCHANGE
    assert exchange_of(model.event_type) == expected


def test_registry_holds_each_type_once() -> None:
    assert len(EVENT_TYPES) == len(ALL_EVENTS)
    assert set(EVENT_TYPES.values()) == set(ALL_EVENTS)


def test_exchange_names_match_the_broker_topology() -> None:
    from qbsync_common.messaging import topology

    assert topology.EVENTS_EXCHANGE == EVENTS_EXCHANGE
    assert topology.RESULTS_EXCHANGE == RESULTS_EXCHANGE


def test_upstream_events_refuse_unknown_fields_and_results_tolerate_them() -> None:
    upstream = [m for m in ALL_EVENTS if m.direction == "upstream"]
    others = [m for m in ALL_EVENTS if m.direction != "upstream"]
    for model in upstream:
        assert data_schema(model)["additionalProperties"] is False
        with pytest.raises(ValueError, match="Extra inputs"):
            model.model_validate({**examples_of(model)[0], "nmae": "typo"})
    for model in others:
        parsed = model.model_validate({**examples_of(model)[0], "added_in_v1_1": 1})
        assert "added_in_v1_1" not in parsed.model_dump()


def test_event_type_of_refuses_models_outside_the_contract() -> None:
    class Stranger(BaseModel):
        event_type: str = "qbsync.partner.upserted.v1"

    with pytest.raises(TypeError, match="Stranger"):
        event_type_of(Stranger)
