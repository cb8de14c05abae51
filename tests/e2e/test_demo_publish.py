"""`qbsync-demo publish` validates against the contract before anything reaches the broker."""

from __future__ import annotations

import json

import pytest

from qbsync_common.contract import events
from qbsync_dev.demo.publish import InvalidEvent, envelope_from_json

PARTNER = events.PartnerUpserted.event_type
CLIENT = {
    "kind": "client",
    "partner_id": "c-1",
    "version": 3,
    "name": "Acme",
    "currency": "USD",
    "active": True,
}


def test_data_only_file_is_wrapped_for_the_tenant() -> None:
    envelope = envelope_from_json(PARTNER, json.dumps(CLIENT).encode(), "tenant-7")
    assert envelope.type == PARTNER
    assert envelope.tenantid == "tenant-7"
    assert envelope.data["partner_id"] == "c-1" and envelope.data["version"] == 3


def test_whole_envelope_is_kept_as_written() -> None:
    body = {
        "specversion": "1.0",
        "id": "evt-42",
        "source": "my-app",
        "type": PARTNER,
        "time": "2026-03-02T09:15:00Z",
        "tenantid": "tenant-9",
        "data": CLIENT,
    }
    envelope = envelope_from_json(PARTNER, json.dumps(body).encode(), None)
    assert (envelope.id, envelope.source, envelope.tenantid) == ("evt-42", "my-app", "tenant-9")


@pytest.mark.parametrize(
    ("event_type", "raw", "tenant", "says"),
    [
        (PARTNER, b"{not json", "t", "not valid JSON"),
        ("qbsync.nope.v1", json.dumps(CLIENT).encode(), "t", "unknown event type"),
        (PARTNER, json.dumps({**CLIENT, "kind": "supplier"}).encode(), "t", "data.kind"),
        (PARTNER, json.dumps({**CLIENT, "version": -1}).encode(), "t", "data.version"),
        (PARTNER, json.dumps(CLIENT).encode(), None, "--tenant"),
        (PARTNER, b"[1, 2]", "t", "JSON object"),
        (
            events.PartnerDeactivated.event_type,
            json.dumps({"specversion": "1.0", "type": PARTNER, "data": CLIENT}).encode(),
            "t",
            "not 'qbsync.partner.deactivated.v1'",
        ),
    ],
)
def test_invalid_input_is_refused_with_the_reason(
    event_type: str, raw: bytes, tenant: str | None, says: str
) -> None:
    with pytest.raises(InvalidEvent) as refused:
        envelope_from_json(event_type, raw, tenant)
    assert says in str(refused.value)


def test_amounts_written_as_numbers_stay_exact() -> None:
    payment = {
        "payment_id": "pay-1",
        "invoice_id": "inv-1",
        "invoice_kind": "client",
        "version": 1,
        "amount": 0.1,
        "currency": "USD",
        "paid_at": "2026-03-02",
    }
    event_type = events.PaymentRecordedUpstream.event_type
    envelope = envelope_from_json(event_type, json.dumps(payment).encode(), "t")
    assert str(envelope.data["amount"]) == "0.1"
