"""Intuit webhook bodies (legacy and CloudEvents) reduced to entity changes per realm (pure)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

# CloudEvents verbs -> the legacy operation names our events carry.
_OPERATIONS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "merged": "Merge",
    "voided": "Void",
    "emailed": "Emailed",
}

# CloudEvents spell entities in lower case; consumers get the legacy (and REST) PascalCase names.
_ENTITY_NAMES = {
    name.lower(): name
    for name in (
        "Account",
        "Bill",
        "BillPayment",
        "Budget",
        "Class",
        "CreditMemo",
        "Currency",
        "Customer",
        "Department",
        "Deposit",
        "Employee",
        "Estimate",
        "Invoice",
        "Item",
        "JournalCode",
        "JournalEntry",
        "Payment",
        "PaymentMethod",
        "Preferences",
        "Purchase",
        "PurchaseOrder",
        "RefundReceipt",
        "SalesReceipt",
        "TaxAgency",
        "Term",
        "TimeActivity",
        "Transfer",
        "Vendor",
        "VendorCredit",
    )
}


KNOWN_OPERATIONS = frozenset(_OPERATIONS.values())


def _operation(value: object) -> str:
    # An operation Intuit adds later is still a change worth re-reading: report it as Update.
    text = str(value)
    return text if text in KNOWN_OPERATIONS else "Update"


def _timestamp(value: object, default: datetime) -> str:
    """ISO 8601 with an offset; Intuit sends `-0700` offsets and nanoseconds, or nothing."""
    if not isinstance(value, str):
        return default.isoformat()
    head, dot, rest = value.partition(".")
    if dot:  # Python parses at most microseconds: cut nanoseconds, keep the zone suffix
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return default.isoformat()
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


class MalformedPayload(ValueError):
    """The body is authentic but not a shape we know; logged, acknowledged, not retried."""


def changes_by_realm(body: bytes, received_at: datetime) -> dict[str, list[dict[str, Any]]]:
    """realm id -> [{name, id, operation, last_updated, deleted_id?}] in delivery order.

    `received_at` stands in for a missing or unreadable change time.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload("body is not JSON") from exc
    if isinstance(document, list):
        return _cloudevents(document, received_at)
    if isinstance(document, dict) and isinstance(document.get("eventNotifications"), list):
        return _legacy(document["eventNotifications"], received_at)
    raise MalformedPayload("neither a legacy notification nor a CloudEvents array")


def _legacy(notifications: list[Any], received_at: datetime) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for note in notifications:
        if not isinstance(note, dict) or not note.get("realmId"):
            raise MalformedPayload("notification without realmId")
        change = note.get("dataChangeEvent") or {}
        for entity in change.get("entities") or []:
            if not isinstance(entity, dict) or "name" not in entity or "id" not in entity:
                raise MalformedPayload("entity without name or id")
            item = {
                "name": str(entity["name"]),
                "id": str(entity["id"]),
                "operation": _operation(entity.get("operation")),
                "last_updated": _timestamp(entity.get("lastUpdated"), received_at),
            }
            deleted = entity.get("deletedID", entity.get("deletedId"))
            if deleted is not None:
                item["deleted_id"] = str(deleted)
            out[str(note["realmId"])].append(item)
        # A notification with no entities still says "this realm changed": keep the realm.
        out.setdefault(str(note["realmId"]), [])
    return dict(out)


def _cloudevents(events: list[Any], received_at: datetime) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if not isinstance(event, dict) or not event.get("intuitaccountid"):
            raise MalformedPayload("CloudEvent without intuitaccountid")
        parts = str(event.get("type", "")).split(".")
        if len(parts) != 4 or parts[0] != "qbo":
            raise MalformedPayload("unknown CloudEvent type")
        entity, verb = parts[1], parts[2]
        realm = str(event["intuitaccountid"])
        if not event.get("intuitentityid"):
            out.setdefault(realm, [])  # nothing to re-read, but the realm did change
            continue
        item: dict[str, Any] = {
            "name": _ENTITY_NAMES.get(entity, entity),
            "id": str(event["intuitentityid"]),
            "operation": _OPERATIONS.get(verb, "Update"),
            "last_updated": _timestamp(event.get("time"), received_at),
        }
        data = event.get("data")
        if isinstance(data, dict) and data.get("deletedid") is not None:
            item["deleted_id"] = str(data["deletedid"])
        out[realm].append(item)
    return dict(out)
