"""What we send QBO for a snapshot: owned fields, emptied fields, and when QBO's copy differs."""

from __future__ import annotations

from typing import Any

from partner_sync.adapters.qbo_records import (
    differs,
    needs_clearing,
    partner_fields,
    record_for_create,
    record_for_full_update,
    record_for_update,
)
from qbo_client.models import Customer, Vendor
from qbsync_common.contract.partner_snapshot import PartnerSnapshot


def snap(**kw: Any) -> PartnerSnapshot:
    values: dict[str, Any] = {
        "kind": "client",
        "partner_id": "c1",
        "version": 1,
        "name": "Acme",
        "currency": "USD",
        "active": True,
        **kw,
    }
    return PartnerSnapshot.model_validate(values)


def test_empty_fields_are_marked_for_clearing_and_left_out_of_creates_and_sparse_updates() -> None:
    fields = partner_fields(snap(email="  ", website="https://acme.example"), "Acme")
    assert fields["PrimaryEmailAddr"] is None and fields["PrimaryPhone"] is None
    assert fields["WebAddr"] == {"URI": "https://acme.example"}
    assert "PrimaryTaxIdentifier" in fields and fields["PrimaryTaxIdentifier"] is None
    created = record_for_create("client", fields, "USD").to_payload()
    assert "PrimaryEmailAddr" not in created and created["CurrencyRef"] == {"value": "USD"}
    sparse = record_for_update("client", "58", "3", fields).to_payload()
    assert "PrimaryEmailAddr" not in sparse and sparse["WebAddr"]["URI"] == "https://acme.example"


def test_a_vendors_tax_id_is_its_tax_identifier() -> None:
    fields = partner_fields(snap(kind="vendor", tax_id="12-345"), "Acme (V)")
    assert fields["TaxIdentifier"] == "12-345" and "PrimaryTaxIdentifier" not in fields


def test_a_full_update_keeps_qbos_other_fields_and_drops_the_emptied_ones() -> None:
    current = Customer.model_validate(
        {
            "Id": "58",
            "SyncToken": "4",
            "DisplayName": "Acme",
            "PrimaryEmailAddr": {"Address": "old@acme.example"},
            "Notes": "QBO's own",
            "CurrencyRef": {"value": "USD"},
            "BillAddr": {"Id": "9", "Line1": "1 Main St", "Line2": "Suite 2"},
        }
    )
    fields = partner_fields(snap(billing_address={"line1": "1 Main St"}), "Acme")
    assert needs_clearing(current, fields) and differs(current, fields)
    body = record_for_full_update(current, fields).to_payload()
    assert "PrimaryEmailAddr" not in body
    assert body["Notes"] == "QBO's own" and body["CurrencyRef"] == {"value": "USD"}
    assert body["BillAddr"] == {"Line1": "1 Main St"}


def test_differs_sees_an_emptied_address_line_and_accepts_a_masked_tax_id() -> None:
    fields = partner_fields(
        snap(tax_id="DE123456789", billing_address={"line1": "1 Main St"}), "Acme"
    )
    same = Customer.model_validate(
        {
            "DisplayName": "Acme",
            "Active": True,
            "PrimaryTaxIdentifier": "XXXXXXX6789",
            "BillAddr": {"Id": "9", "Line1": "1 Main St"},
        }
    )
    assert not differs(same, fields) and not needs_clearing(same, fields)
    extra_line = Customer.model_validate(
        {**same.to_payload(), "BillAddr": {"Id": "9", "Line1": "1 Main St", "City": "X"}}
    )
    assert differs(extra_line, fields)
    other_tax = Customer.model_validate({**same.to_payload(), "PrimaryTaxIdentifier": "XXXX0000"})
    assert differs(other_tax, fields)
    vendor = Vendor.model_validate({"DisplayName": "Acme", "Active": True})
    assert not differs(vendor, partner_fields(snap(kind="vendor"), "Acme"))
