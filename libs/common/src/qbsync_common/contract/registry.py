"""Type strings ↔ data models, and the edge where bytes become validated events (and back)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ValidationError

from qbsync_common.contract.bases import EventData
from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.events import ALL_EVENTS

Reason = Literal["too-large", "malformed-json", "invalid-envelope", "unknown-type", "invalid-data"]
# The largest body the contract accepts: an invoice of some ten thousand lines. A larger one is
# refused before it is parsed, so a runaway publisher costs a consumer nothing but the copy to
# its parking lot (parsing a 10 MB body held the event loop for about 40 ms; RELIABILITY §8 B1).
MAX_EVENT_BYTES = 4 * 1024 * 1024

EVENT_TYPES: Mapping[str, type[BaseModel]] = MappingProxyType(
    {model.event_type: model for model in ALL_EVENTS}
)
"""CloudEvents type string (= AMQP routing key) → the model of its `data`."""


class ContractError(Exception):
    """A message that breaks the contract; `field` names where, e.g. data.lines[2].amount."""

    def __init__(self, reason: Reason, field: str | None, message: str) -> None:
        super().__init__(f"{reason} at {field or '-'}: {message}")
        self.reason: Reason = reason
        self.field = field
        self.message = message


def event_type_of(model_cls: type[BaseModel]) -> str:
    """The CloudEvents type string of a data model class."""
    event_type = getattr(model_cls, "event_type", None)
    if not isinstance(event_type, str) or EVENT_TYPES.get(event_type) is not model_cls:
        raise TypeError(f"{model_cls.__name__} is not an event of the qbsync contract")
    return event_type


def exchange_of(event_type: str) -> str:
    """The exchange an event type is published to: qbsync.events or qbsync.results."""
    model = EVENT_TYPES[event_type]
    assert issubclass(model, EventData)
    return model.exchange


def new_event(
    data: BaseModel,
    *,
    tenant_id: str,
    source: str,
    subject: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> Envelope:
    """Wrap event data in a fresh envelope; the type comes from the data's class."""
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=event_type_of(type(data)),
        time=time or datetime.now(UTC),
        subject=subject,
        tenantid=tenant_id,
        data=data.model_dump(mode="json"),
    )


def encode(envelope: Envelope) -> bytes:
    """Compact JSON of the envelope; decimals become JSON strings, never floats."""
    body = envelope.model_dump(mode="json", exclude={"data"}, exclude_none=True)
    # Absent optional attributes are omitted (CloudEvents), but data keeps its explicit nulls.
    body["data"] = _jsonable(envelope.data)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def parse_event(body: bytes) -> tuple[Envelope, BaseModel]:
    """Validate a message body against the contract, or raise ContractError naming the field."""
    if len(body) > MAX_EVENT_BYTES:
        raise ContractError(
            "too-large", None, f"the body has {len(body):,} bytes, over {MAX_EVENT_BYTES:,}"
        )
    try:
        # Decimal for every JSON number with a fraction, so money sent as a number stays exact.
        raw = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContractError("malformed-json", None, str(exc)) from None
    if not isinstance(raw, dict):
        raise ContractError("invalid-envelope", None, "the body must be a JSON object")
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        _raise_first("invalid-envelope", "", exc)
    model = EVENT_TYPES.get(envelope.type)
    if model is None:
        raise ContractError("unknown-type", "type", f"unknown event type {envelope.type!r}")
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        _raise_first("invalid-data", "data", exc)
    return envelope, data


def _raise_first(reason: Reason, prefix: str, exc: ValidationError) -> NoReturn:
    error = exc.errors(include_url=False)[0]
    path = prefix
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    raise ContractError(reason, path or None, error["msg"]) from None


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _jsonable(value: Any) -> Any:
    # Data normally holds JSON-ready values already (new_event dumps in JSON mode), but an
    # envelope returned by parse_event holds Decimals, and it must re-encode unchanged.
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value
