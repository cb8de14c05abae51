"""Upstream partner snapshots as QBO Customer/Vendor records (what we send, never currency on update).

Upstream owns a fixed set of fields. `partner_fields` maps each of them to its QBO value, or to
None when upstream holds nothing: QBO's copy of that field must then be empty too. A sparse
update cannot empty a field (QBO, and the emulator, treat "" and null as "leave unchanged"), so a
clear is written as a full update built from QBO's current copy without the cleared fields
(QBO.md §2.1: a full update sets omitted writable fields to NULL).
"""

from __future__ import annotations

from typing import Any

from qbo_client.models import Customer, Vendor
from qbsync_common.contract.partner_snapshot import PartnerSnapshot

PartnerRecord = Customer | Vendor

ADDRESS_KEYS = ("Line1", "Line2", "City", "CountrySubDivisionCode", "PostalCode", "Country")
# The parts of QBO's nested fields upstream owns; other parts (an address Id) are QBO's.
OWNED_PARTS: dict[str, tuple[str, ...]] = {
    "PrimaryEmailAddr": ("Address",),
    "PrimaryPhone": ("FreeFormNumber",),
    "WebAddr": ("URI",),
    "BillAddr": ADDRESS_KEYS,
}
# QBO returns tax ids masked except their last characters (e.g. "XXXXXX6789").
TAX_ID_FIELDS = frozenset({"TaxIdentifier", "PrimaryTaxIdentifier"})


def entity_for(kind: str) -> type[PartnerRecord]:
    """Clients and projects are QBO Customers, vendors are QBO Vendors."""
    return Vendor if kind == "vendor" else Customer


def tax_id_field(kind: str) -> str:
    """Vendor.TaxIdentifier (QBO.md §3.2); a Customer's tax registration is PrimaryTaxIdentifier."""
    return "TaxIdentifier" if kind == "vendor" else "PrimaryTaxIdentifier"


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _wrapped(key: str, value: str | None) -> dict[str, str] | None:
    text = _text(value)
    return {key: text} if text is not None else None


def partner_fields(snapshot: PartnerSnapshot, display_name: str) -> dict[str, Any]:
    """The QBO fields upstream owns; None means "empty upstream, so empty in QBO"."""
    address = snapshot.billing_address
    bill_addr: dict[str, str] | None = None
    if address is not None:
        parts = {
            "Line1": _text(address.line1),
            "Line2": _text(address.line2),
            "City": _text(address.city),
            "CountrySubDivisionCode": _text(address.region),
            "PostalCode": _text(address.postal_code),
            "Country": _text(address.country),
        }
        bill_addr = {k: v for k, v in parts.items() if v is not None} or None
    return {
        "DisplayName": display_name,
        "CompanyName": _text(snapshot.company_name),
        "PrimaryEmailAddr": _wrapped("Address", snapshot.email),
        "PrimaryPhone": _wrapped("FreeFormNumber", snapshot.phone),
        "WebAddr": _wrapped("URI", snapshot.website),
        tax_id_field(snapshot.kind): _text(snapshot.tax_id),
        "BillAddr": bill_addr,
        "Active": snapshot.active,
    }


def present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def cleared(fields: dict[str, Any]) -> frozenset[str]:
    return frozenset(k for k, v in fields.items() if v is None)


def record_for_create(kind: str, fields: dict[str, Any], currency: str | None) -> PartnerRecord:
    body = present(fields)
    if currency:
        # The only moment a partner's currency may be set (QBO refuses later changes).
        body["CurrencyRef"] = {"value": currency}
    return entity_for(kind).model_validate(body)


def record_for_update(
    kind: str, qbo_id: str, sync_token: str, fields: dict[str, Any]
) -> PartnerRecord:
    """A sparse update: the fields we hold a value for; fields left out stay as QBO has them."""
    body = {k: v for k, v in present(fields).items() if k != "CurrencyRef"}
    return entity_for(kind).model_validate({**body, "Id": qbo_id, "SyncToken": sync_token})


def record_for_full_update(current: PartnerRecord, fields: dict[str, Any]) -> PartnerRecord:
    """A full update from QBO's copy: what QBO holds outside our fields survives, our fields
    take upstream's values, and the fields upstream emptied are left out, which clears them."""
    body = current.to_payload()
    for key in cleared(fields):
        body.pop(key, None)
    body.update(present(fields))
    # Never change the currency (QBO refuses); resending QBO's own value keeps it.
    return type(current).model_validate(body)


def holds_value(record: PartnerRecord, key: str) -> bool:
    have = record.to_payload().get(key)
    if isinstance(have, dict):
        return any(have.get(part) not in (None, "") for part in OWNED_PARTS.get(key, tuple(have)))
    return have not in (None, "")


def needs_clearing(record: PartnerRecord, fields: dict[str, Any]) -> bool:
    """Whether QBO holds a value for a field upstream emptied (only a full update clears it)."""
    return any(holds_value(record, key) for key in cleared(fields))


def _same_tax_id(have: Any, wanted: str) -> bool:
    if have == wanted:
        return True
    if not isinstance(have, str) or len(have) < 4:
        return False
    visible = have.lstrip("X*x")
    return bool(visible) and visible != have and wanted.endswith(visible)


def differs(record: PartnerRecord, fields: dict[str, Any]) -> bool:
    """Whether QBO's copy disagrees with upstream on any field we own (saves an update call)."""
    current = record.to_payload()
    for key, wanted in fields.items():
        have = current.get(key)
        if wanted is None:
            if holds_value(record, key):
                return True
        elif isinstance(wanted, dict):
            have_map = have if isinstance(have, dict) else {}
            parts = set(wanted) | set(OWNED_PARTS.get(key, ()))
            if any((have_map.get(p) or None) != wanted.get(p) for p in parts):
                return True
        elif key in TAX_ID_FIELDS:
            if not _same_tax_id(have, wanted):
                return True
        elif have != wanted:
            return True
    return False
