"""Resolving `{"value": id}` references to stored objects with QBO's 2500/610 faults."""

from __future__ import annotations

from typing import Any

from qbo_emulator.accounting import faults
from qbo_emulator.accounting.store import Realm, Record


def ref_id(ref: Any, element: str) -> str | None:
    if ref is None or ref == "":
        return None
    if not isinstance(ref, dict):
        raise faults.invalid_property(element)
    value = ref.get("value")
    if value is None or value == "":
        return None
    return str(value)


def resolve(realm: Realm, entity: str, ref: Any, element: str, *, required: bool) -> Record | None:
    """Return the referenced record; unknown → 2500, deleted → 2500, inactive → 610."""
    target = ref_id(ref, element)
    if target is None:
        if required:
            raise faults.required(element)
        return None
    entry = realm.get(entity, target)
    if entry is None or entry.deleted:
        raise faults.invalid_reference(element)
    if entry.data.get("Active") is False:
        raise faults.inactive_reference(element)
    return entry.data


def named(record: Record, label_field: str = "DisplayName") -> dict[str, str]:
    label = record.get("FullyQualifiedName") or record.get(label_field) or record.get("Name")
    return {"value": record["Id"], "name": str(label or "")}
