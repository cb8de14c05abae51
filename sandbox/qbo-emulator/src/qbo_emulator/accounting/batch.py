"""Batch: up to 30 independent items, each answered with its entity, QueryResponse or Fault."""

from __future__ import annotations

from typing import Any

from qbo_emulator.accounting import faults, query
from qbo_emulator.accounting.catalogue import SPECS
from qbo_emulator.accounting.faults import ApiFault
from qbo_emulator.accounting.ledger import Ledger
from qbo_emulator.accounting.store import Realm

MAX_ITEMS = 30


def run(ledger: Ledger, realm: Realm, body: Any) -> list[dict[str, Any]]:
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise faults.required("BatchItemRequest")
    if len(items) > MAX_ITEMS:
        raise faults.business(
            f"The batch has {len(items)} items; a batch may hold at most {MAX_ITEMS}.",
            "BatchItemRequest",
        )
    answers: list[dict[str, Any]] = []
    try:
        for item in items:
            answers.append(_one(ledger, realm, item))
    finally:
        realm.hidden.clear()
    return answers


def _one(ledger: Ledger, realm: Realm, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"Fault": faults.malformed("a batch item must be an object").body()}
    bid = str(item.get("bId", ""))
    try:
        if "Query" in item:
            return {"bId": bid, "QueryResponse": query.run(realm, query.parse(str(item["Query"])))}
        entity = next((k for k in item if k in SPECS), None)
        if entity is None:
            raise faults.malformed("the batch item names no supported entity")
        options = str(item.get("optionsData") or "")
        operation = str(item.get("operation") or "create")
        record = ledger.write(realm, entity, item[entity], operation, options)
        if operation == "create" and "Id" in record:
            # Later items of the same batch must not see what this one created.
            realm.hidden.add(record["Id"])
        return {"bId": bid, entity: record}
    except ApiFault as fault:
        return {"bId": bid, "Fault": fault.body()}
