"""Upstream partner snapshots as QBO Customer/Vendor records (what we send, never currency on update)."""

from __future__ import annotations

from typing import Any

from qbo_client.models import Customer, Vendor
from qbsync_common.contract.partner_snapshot import PartnerSnapshot

PartnerRecord = Customer | Vendor


def entity_for(kind: str) -> type[PartnerRecord]:
    """Clients and projects are QBO Customers, vendors are QBO Vendors."""
    return Vendor if kind == "vendor" else Customer


def partner_fields(snapshot: PartnerSnapshot, display_name: str) -> dict[str, Any]:
    """The QBO fields upstream owns; upstream overwrites QBO's copy of each of them."""
    fields: dict[str, Any] = {
        "DisplayName": display_name,
        "CompanyName": (snapshot.company_name or None),
        "PrimaryEmailAddr": {"Address": snapshot.email} if snapshot.email else None,
        "PrimaryPhone": {"FreeFormNumber": snapshot.phone} if snapshot.phone else None,
        "Active": snapshot.active,
    }
    address = snapshot.billing_address
    if address is not None:
        fields["BillAddr"] = {
            "Line1": address.line1,
            "Line2": address.line2,
            "City": address.city,
            "CountrySubDivisionCode": address.region,
            "PostalCode": address.postal_code,
            "Country": address.country,
        }
    return {k: v for k, v in fields.items() if v is not None}


def record_for_create(kind: str, fields: dict[str, Any], currency: str | None) -> PartnerRecord:
    body = dict(fields)
    if currency:
        # The only moment a partner's currency may be set (QBO refuses later changes).
        body["CurrencyRef"] = {"value": currency}
    return entity_for(kind).model_validate(body)


def record_for_update(
    kind: str, qbo_id: str, sync_token: str, fields: dict[str, Any]
) -> PartnerRecord:
    body = {k: v for k, v in fields.items() if k != "CurrencyRef"}
    return entity_for(kind).model_validate({**body, "Id": qbo_id, "SyncToken": sync_token})


def differs(record: PartnerRecord, fields: dict[str, Any]) -> bool:
    """Whether QBO's copy disagrees with upstream on any field we own (saves an update call)."""
    current = record.to_payload()
    for key, wanted in fields.items():
        have = current.get(key)
        if isinstance(wanted, dict):
            have_map = have if isinstance(have, dict) else {}
            if any(have_map.get(k) != v for k, v in wanted.items() if v is not None):
                return True
        elif have != wanted:
            return True
    return False
