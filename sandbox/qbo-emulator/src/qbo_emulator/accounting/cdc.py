"""Change Data Capture: changed and deleted objects of several entities since a timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from qbo_emulator.accounting import faults
from qbo_emulator.accounting.catalogue import BY_LOWER
from qbo_emulator.accounting.store import Realm

LOOKBACK = timedelta(days=30)
OBJECT_CAP = 1000


def parse_since(raw: str | None) -> datetime:
    if not raw:
        raise faults.required("changedSince")
    # node-quickbooks sends the offset unencoded, so "+02:00" arrives as " 02:00".
    text = raw.strip().replace(" ", "+").replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise faults.invalid_property("changedSince") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def run(realm: Realm, entities_param: str | None, since_param: str | None, now: datetime) -> Any:
    """Build the CDCResponse list; unsupported entity names are left out, as QBO does."""
    if not entities_param:
        raise faults.required("entities")
    since = parse_since(since_param)
    if since < now - LOOKBACK:
        raise faults.validation(
            "2010",
            "Request has invalid or unsupported property",
            f"Operation cdc with changedSince date {since_param} which is older than fixed days "
            "is not supported.",
            "changedSince",
        )
    groups: list[dict[str, Any]] = []
    budget = OBJECT_CAP
    for name in entities_param.split(","):
        spec = BY_LOWER.get(name.strip().lower())
        if spec is None or not spec.cdc or budget <= 0:
            continue
        changed = [e for e in realm.entries[spec.name].values() if e.updated >= since]
        changed.sort(key=lambda e: (e.deleted, e.updated))
        objects: list[dict[str, Any]] = []
        for entry in changed[:budget]:
            if entry.deleted:
                stamp = {"LastUpdatedTime": realm.stamp(entry.updated)}
                objects.append({**entry.data, "MetaData": stamp})
            else:
                objects.append(entry.data)
        budget -= len(objects)
        if objects:
            groups.append(
                {
                    spec.name: objects,
                    "startPosition": 1,
                    "maxResults": len(objects),
                    "totalCount": len(changed),
                }
            )
    return [{"QueryResponse": groups or [{}]}]
