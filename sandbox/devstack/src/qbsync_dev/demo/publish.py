"""Publishing contract events as the upstream app does, validated against the contract first."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aio_pika
from pydantic import BaseModel

from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.registry import (
    EVENT_TYPES,
    ContractError,
    encode,
    exchange_of,
    new_event,
    parse_event,
)
from qbsync_common.messaging.publisher import Publisher, open_publisher_channel

SOURCE = "qbsync-demo"


class InvalidEvent(Exception):
    """The file does not hold a valid event of the contract; the message says where and why."""


def envelope_from_json(event_type: str, raw: bytes, tenant_id: str | None) -> Envelope:
    """`raw` is either the event's data or a whole CloudEvents envelope of that type."""
    if event_type not in EVENT_TYPES:
        known = ", ".join(sorted(EVENT_TYPES))
        raise InvalidEvent(f"unknown event type {event_type!r}; the contract has: {known}")
    try:
        # Decimal keeps money exact when an amount is written as a JSON number.
        doc = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidEvent("the file must hold a JSON object (the event's data or its envelope)")
    if "specversion" in doc:
        if doc.get("type") != event_type:
            raise InvalidEvent(f"the envelope's type is {doc.get('type')!r}, not {event_type!r}")
        if tenant_id and doc.get("tenantid") != tenant_id:
            raise InvalidEvent(f"the envelope's tenantid is {doc.get('tenantid')!r}")
        envelope: dict[str, Any] = doc
    else:
        if not tenant_id:
            raise InvalidEvent("give --tenant (data-only files do not name a tenant)")
        envelope = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": SOURCE,
            "type": event_type,
            "time": datetime.now(UTC).isoformat(),
            "tenantid": tenant_id,
            "data": doc,
        }
    try:
        parsed, _ = parse_event(json.dumps(envelope, default=str).encode())
    except ContractError as exc:
        raise InvalidEvent(f"{exc.reason} at {exc.field or '-'}: {exc.message}") from None
    return parsed


def story_envelopes(tenant_id: str, models: Sequence[BaseModel]) -> list[Envelope]:
    return [new_event(model, tenant_id=tenant_id, source=SOURCE) for model in models]


async def publish(broker_url: str, envelopes: Sequence[Envelope]) -> None:
    """Confirmed and mandatory (qbsync_common's Publisher): an event no queue takes is an error."""
    connection = await aio_pika.connect(broker_url)
    async with connection:
        publisher = Publisher(await open_publisher_channel(connection))
        for envelope in envelopes:
            await publisher.publish(
                exchange_of(envelope.type), envelope.type, encode(envelope), message_id=envelope.id
            )
