"""parse_event / encode / new_event: the edge where bytes become validated events and back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbsync_common.contract import events
from qbsync_common.contract.envelope import Envelope
from qbsync_common.contract.registry import (
    MAX_EVENT_BYTES,
    ContractError,
    encode,
    new_event,
    parse_event,
)


def invoice(**overrides: Any) -> events.InvoiceStatusChanged:
    lines = [
        events.DocumentLine(
            name="Translation", quantity=Decimal("3"), unit_price=Decimal("0.10"), amount="0.30"
        ),
        events.DocumentLine(
            name="Review", quantity="1.5", unit_price="40.005", amount=Decimal("60.0075")
        ),
    ]
    fields: dict[str, Any] = {
        "kind": "client",
        "invoice_id": "inv-1",
        "version": 2,
        "number": "2026/1",
        "status": "sent",
        "issue_date": date(2026, 3, 2),
        "modified_at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        "partner_id": "c-1",
        "currency": "EUR",
        "exchange_rate": "1.0825",
        "lines": lines,
        "net_total": "60.3075",
    }
    return events.InvoiceStatusChanged.model_validate(fields | overrides)


def body_of(data: events.EventData, **envelope: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(encode(new_event(data, tenant_id="t-1", source="test")))
    return raw | envelope


def failure(raw: dict[str, Any] | bytes) -> ContractError:
    body = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    with pytest.raises(ContractError) as caught:
        parse_event(body)
    return caught.value


def test_round_trip_keeps_every_value_and_the_envelope() -> None:
    data = invoice()
    sent = new_event(data, tenant_id="t-9", source="erp", subject="invoice/inv-1", event_id="e-1")
    envelope, parsed = parse_event(encode(sent))
    assert parsed == data
    assert (envelope.id, envelope.tenantid, envelope.subject, envelope.type) == (
        "e-1",
        "t-9",
        "invoice/inv-1",
        "qbsync.invoice.status_changed.v1",
    )
    assert envelope.time == sent.time
    # Re-encoding what was parsed gives the same bytes: relays and parking never alter events.
    assert encode(envelope) == encode(sent)


def test_money_is_sent_as_strings_and_comes_back_exact() -> None:
    body = encode(new_event(invoice(), tenant_id="t", source="s"))
    raw = json.loads(body)
    assert raw["data"]["net_total"] == "60.3075"
    assert raw["data"]["lines"][0]["unit_price"] == "0.10"
    assert b"60.3075" in body
    assert b":60.3075" not in body
    _, parsed = parse_event(body)
    assert isinstance(parsed, events.InvoiceStatusChanged)
    assert parsed.lines[0].unit_price == Decimal("0.10")
    assert str(parsed.lines[0].unit_price) == "0.10"  # the exponent survives, not only the value
    assert sum(line.amount for line in parsed.lines) == parsed.net_total


@given(amount=st.decimals(min_value=-(10**12), max_value=10**12, places=4))
def test_any_decimal_round_trips_exactly(amount: Decimal) -> None:
    data = events.DocumentNeedsReview.model_validate(
        {
            "document_kind": "invoice",
            "document_id": "i",
            "version": 1,
            "sync_key": "1",
            "reason": "total-variance",
            "expected": amount,
            "qbo_total": amount,
            "currency": "USD",
            "operation_id": "op",
        }
    )
    _, parsed = parse_event(encode(new_event(data, tenant_id="t", source="s")))
    assert isinstance(parsed, events.DocumentNeedsReview)
    assert parsed.expected == amount
    assert parsed.expected.as_tuple().exponent == amount.as_tuple().exponent


def test_money_sent_as_json_numbers_is_read_exactly() -> None:
    raw = body_of(invoice())
    raw["data"]["net_total"] = "__NUMBER__"
    body = json.dumps(raw).replace('"__NUMBER__"', "0.30000000000000000001").encode()
    _, parsed = parse_event(body)
    assert isinstance(parsed, events.InvoiceStatusChanged)
    assert parsed.net_total == Decimal("0.30000000000000000001")


def test_floats_from_python_keep_their_shortest_repr() -> None:
    line = events.DocumentLine(name="x", quantity=1, unit_price=0.1, amount=12.34)
    assert (line.unit_price, line.amount) == (Decimal("0.1"), Decimal("12.34"))


@pytest.mark.parametrize("bad", ["NaN", "abc", "Infinity", True])
def test_non_numbers_are_refused_as_money(bad: object) -> None:
    with pytest.raises(ValueError, match="decimal"):
        events.DocumentLine(name="x", quantity=1, unit_price=bad, amount="1")


def test_malformed_json_is_reported() -> None:
    error = failure(b'{"specversion": "1.0", "id": ')
    assert error.reason == "malformed-json"
    assert error.field is None
    assert "line 1" in error.message


def test_a_body_over_the_limit_is_refused_by_its_size_alone() -> None:
    # Valid JSON up to the last byte; it is never parsed (that is what the limit is for).
    raw = body_of(invoice())
    raw["data"]["memo"] = "x" * MAX_EVENT_BYTES
    error = failure(json.dumps(raw).encode())
    assert error.reason == "too-large"
    assert f"over {MAX_EVENT_BYTES:,}" in error.message


def test_an_invoice_of_thousands_of_lines_is_within_the_limit() -> None:
    # The limit is meant for runaway bodies, not for large documents.
    line = events.DocumentLine(name="Translation, page 1", quantity=1, unit_price=1, amount=1)
    big = invoice(lines=[line] * 5000, net_total="5000")
    _, data = parse_event(encode(new_event(big, tenant_id="t1", source="upstream")))
    assert isinstance(data, events.InvoiceStatusChanged)
    assert len(data.lines) == 5000


@pytest.mark.parametrize("body", [b"\xff\xfe", b"NaN", b"[1, 2]"])
def test_bodies_that_are_not_a_json_object_are_refused(body: bytes) -> None:
    assert failure(body).reason in {"malformed-json", "invalid-envelope"}


@pytest.mark.parametrize("missing", ["id", "source", "type", "time", "tenantid", "data"])
def test_missing_envelope_attribute_is_named(missing: str) -> None:
    raw = body_of(invoice())
    del raw[missing]
    error = failure(raw)
    assert (error.reason, error.field) == ("invalid-envelope", missing)


def test_envelope_time_without_offset_is_refused() -> None:
    error = failure(body_of(invoice(), time="2026-03-02T09:00:00"))
    assert (error.reason, error.field) == ("invalid-envelope", "time")


def test_wrong_specversion_is_refused() -> None:
    error = failure(body_of(invoice(), specversion="0.3"))
    assert (error.reason, error.field) == ("invalid-envelope", "specversion")


def test_unknown_type_is_named() -> None:
    error = failure(body_of(invoice(), type="qbsync.invoice.exploded.v1"))
    assert (error.reason, error.field) == ("unknown-type", "type")
    assert "qbsync.invoice.exploded.v1" in error.message


def test_bad_data_names_the_nested_field() -> None:
    raw = body_of(invoice())
    raw["data"]["lines"].append(dict(raw["data"]["lines"][0], unit_price="twelve"))
    error = failure(raw)
    assert (error.reason, error.field) == ("invalid-data", "data.lines[2].unit_price")
    assert "decimal" in error.message


def test_typo_in_upstream_data_is_named() -> None:
    raw = body_of(invoice())
    raw["data"]["net_totl"] = raw["data"].pop("net_total")
    error = failure(raw)
    assert error.reason == "invalid-data"
    assert error.field in {"data.net_total", "data.net_totl"}


def test_reason_code_outside_the_contract_is_refused() -> None:
    raw = body_of(
        events.PartnerSkipped(
            kind="client", partner_id="c", version=1, reason_code="inactive", message="m"
        )
    )
    raw["data"]["reason_code"] = "felt-like-it"
    assert failure(raw).field == "data.reason_code"


def test_error_text_carries_reason_and_field() -> None:
    error = failure(body_of(invoice(), type="nope"))
    assert str(error).startswith("unknown-type at type:")


def test_new_event_fills_id_time_and_type() -> None:
    before = datetime.now(UTC)
    envelope = new_event(
        events.PartnerDeactivated(kind="vendor", partner_id="v", version=1),
        tenant_id="t",
        source="s",
    )
    other = new_event(
        events.PartnerDeactivated(kind="vendor", partner_id="v", version=1),
        tenant_id="t",
        source="s",
    )
    assert envelope.type == "qbsync.partner.deactivated.v1"
    assert envelope.id != other.id
    assert before <= envelope.time <= datetime.now(UTC)
    assert envelope.data == {"kind": "vendor", "partner_id": "v", "version": 1}


def test_encode_omits_absent_attributes_and_is_compact() -> None:
    body = encode(
        new_event(
            events.PartnerDeactivated(kind="vendor", partner_id="v", version=1),
            tenant_id="t",
            source="s",
        )
    )
    raw = json.loads(body)
    assert "subject" not in raw
    assert "traceparent" not in raw
    assert b", " not in body
    assert b": " not in body


def test_envelope_tolerates_unknown_extensions() -> None:
    raw = body_of(invoice(), partitionkey="p-1")
    envelope, _ = parse_event(json.dumps(raw).encode())
    assert isinstance(envelope, Envelope)
    assert envelope.tenantid == "t-1"


def test_partner_snapshot_inside_an_invoice_is_validated_too() -> None:
    snapshot = events.PartnerSnapshot(
        kind="client", partner_id="c-1", version=3, name="Acme", currency="EUR", active=True
    )
    raw = body_of(invoice(partner=snapshot))
    _, parsed = parse_event(json.dumps(raw).encode())
    assert isinstance(parsed, events.InvoiceStatusChanged)
    assert parsed.partner == snapshot
    raw["data"]["partner"]["currency"] = "euro"
    assert failure(raw).field == "data.partner.currency"


def test_hand_built_envelopes_with_python_values_encode_as_json_text() -> None:
    envelope = Envelope(
        id="e-1",
        source="s",
        type="qbsync.tenant.settings_changed.v1",
        time=datetime(2026, 3, 2, tzinfo=UTC),
        tenantid="t",
        data={"version": 1, "settings": {"since": date(2026, 1, 1), "threshold": Decimal("0.90")}},
    )
    raw = json.loads(encode(envelope))
    assert raw["data"]["settings"] == {"since": "2026-01-01", "threshold": "0.90"}
