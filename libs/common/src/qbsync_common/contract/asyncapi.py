"""The AsyncAPI 3.0 document of qbsync's broker interface, built from the event models."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from qbsync_common.contract.bases import EVENTS_EXCHANGE, RESULTS_EXCHANGE, Direction, EventData
from qbsync_common.contract.envelope import CONTENT_TYPE
from qbsync_common.contract.registry import new_event
from qbsync_common.contract.schemas import envelope_schema, schema_file_name

AMQP_BINDING_VERSION = "0.3.0"
CHANNEL_OF_EXCHANGE = {EVENTS_EXCHANGE: "events", RESULTS_EXCHANGE: "results"}
EXAMPLE_TENANT = "acme-erp-tenant-17"

INFO_DESCRIPTION = """\
How upstream apps and qbsync talk over RabbitMQ. Every message is one CloudEvents 1.0 event in
structured JSON mode (AMQP content_type `application/cloudevents+json`), published persistent
to a topic exchange with the event type as routing key and the event id as AMQP message_id.
Upstream apps publish their domain events to `qbsync.events` and bind a queue of their own to
`qbsync.results` for the answers. Money is always a decimal string such as "1234.50", never a
JSON number. Each event type's `data` has its own JSON Schema in `schemas/`.
"""

CHANNELS = {
    "events": "Upstream domain events and qbsync's internal commands and notices.",
    "results": "What qbsync tells upstream: sync results, payments from QBO, tenant state. "
    "qbsync services also read some of these (e.g. invoice-sync reads partner.synced).",
}

# (operation id, action, channel, direction of the events it carries, summary)
OPERATIONS: Sequence[tuple[str, str, str, Direction, str]] = (
    ("receiveUpstreamEvents", "receive", "events", "upstream", "qbsync consumes upstream events."),
    ("sendInternalEvents", "send", "events", "internal", "qbsync services send commands."),
    ("receiveInternalEvents", "receive", "events", "internal", "qbsync services act on them."),
    ("sendResults", "send", "results", "result", "qbsync publishes results for upstream apps."),
)


def message_name(model: type[EventData]) -> str:
    """Component name of an event's message: the model's class name."""
    return model.__name__


def build_asyncapi(models: Sequence[type[EventData]]) -> dict[str, Any]:
    """The whole AsyncAPI document; deterministic for a given sequence of models."""
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "qbsync event contract",
            "version": "1.0.0",
            "description": INFO_DESCRIPTION,
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The local RabbitMQ of `make run`.",
            }
        },
        "channels": {
            channel: _channel(channel, [m for m in models if _channel_of(m) == channel])
            for channel in CHANNELS
        },
        "operations": {
            op_id: {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": summary,
                "messages": [
                    {"$ref": f"#/channels/{channel}/messages/{message_name(m)}"}
                    for m in models
                    if m.direction == direction
                ],
            }
            for op_id, action, channel, direction, summary in OPERATIONS
        },
        "components": {
            "schemas": {"CloudEvent": envelope_schema(), "AmqpHeaders": _headers_schema()},
            "messages": {message_name(m): _message(m) for m in models},
        },
    }


def _channel_of(model: type[EventData]) -> str:
    return CHANNEL_OF_EXCHANGE[model.exchange]


def _channel(channel: str, models: Sequence[type[EventData]]) -> dict[str, Any]:
    exchange = next(name for name, key in CHANNEL_OF_EXCHANGE.items() if key == channel)
    return {
        "address": exchange,
        "description": CHANNELS[channel] + " Routing key = the event type.",
        "messages": {
            message_name(m): {"$ref": f"#/components/messages/{message_name(m)}"} for m in models
        },
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": exchange,
                    "type": "topic",
                    "durable": True,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }


def _message(model: type[EventData]) -> dict[str, Any]:
    doc = inspect.cleandoc(model.__doc__ or model.event_type)
    summary, _, description = doc.partition("\n")
    extra = model.model_config.get("json_schema_extra") or {}
    assert isinstance(extra, dict)
    examples = extra.get("examples") or []
    assert isinstance(examples, list)
    return {
        "name": model.event_type,
        "title": model.event_type,
        "summary": summary,
        "description": description.strip() or summary,
        "contentType": CONTENT_TYPE,
        "headers": {"$ref": "#/components/schemas/AmqpHeaders"},
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": model.event_type},
                        "data": {"$ref": f"schemas/{schema_file_name(model.event_type)}"},
                    },
                },
            ]
        },
        "bindings": {
            "amqp": {"messageType": model.event_type, "bindingVersion": AMQP_BINDING_VERSION}
        },
        "examples": [
            {"name": f"example{i + 1}", "payload": _example_envelope(model, data)}
            for i, data in enumerate(examples)
        ],
    }


def _example_envelope(model: type[EventData], data: Any) -> dict[str, Any]:
    envelope = new_event(
        model.model_validate(data),
        tenant_id=EXAMPLE_TENANT,
        source="acme-erp" if model.direction == "upstream" else "qbsync",
        event_id=f"example-{model.event_type}",
        time=datetime(2026, 3, 2, 9, 15, tzinfo=UTC),
    )
    envelope = envelope.model_copy(
        update={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    )
    return envelope.model_dump(mode="json", exclude_none=True) | {"data": envelope.data}


def _headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "AMQP properties and headers set on every message. message_id and "
        "content_type are AMQP basic properties; the others are application headers.",
        "properties": {
            "message_id": {
                "type": "string",
                "description": "AMQP property: equals the CloudEvent `id`; consumers dedupe on it.",
            },
            "content_type": {
                "type": "string",
                "const": CONTENT_TYPE,
                "description": "AMQP property: the body is one structured-mode CloudEvent.",
            },
            "traceparent": {
                "type": "string",
                "description": "Header: W3C trace context, so one trace spans publisher and "
                "consumers (same value as the CloudEvent `traceparent` extension).",
            },
            "tenantid": {
                "type": "string",
                "description": "Header: the CloudEvent `tenantid`, for routing and debugging "
                "without parsing the body.",
            },
        },
        "required": ["message_id", "content_type"],
    }
