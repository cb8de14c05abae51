"""In-process checks of the ledger, CDC cap, money encoding and the admin API on a private app."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from qbo_emulator.accounting import cdc
from qbo_emulator.accounting.catalogue import SPECS
from qbo_emulator.accounting.faults import ApiFault
from qbo_emulator.accounting.ledger import Ledger
from qbo_emulator.accounting.money import json_default
from qbo_emulator.accounting.seed import create_realm
from qbo_emulator.app import create_app
from qbo_emulator.clock import Clock
from qbo_emulator.config import CompanySeed, EmulatorConfig


def test_json_numbers_keep_their_decimal_digits() -> None:
    amounts = [Decimal("0.1") + Decimal("0.2"), Decimal("1234567.89"), Decimal("100.00")]
    assert json.dumps(amounts, default=json_default) == "[0.3, 1234567.89, 100]"


def test_cdc_caps_at_1000_objects_and_notifies_every_change() -> None:
    clock = Clock()
    events: list[tuple[str, str, str]] = []
    ledger = Ledger(clock, lambda realm, entity, eid, op, at: events.append((entity, eid, op)))
    realm = create_realm(clock, "1", "Big", seeded=False)
    start = clock.now() - timedelta(seconds=1)
    for n in range(1005):
        ledger.create(realm, SPECS["Customer"], {"DisplayName": f"N{n}"}, False)
    groups = cdc.run(realm, "Customer", start.isoformat(), clock.now())[0]["QueryResponse"]
    assert len(groups[0]["Customer"]) == 1000
    assert groups[0]["totalCount"] == 1005
    assert len(events) == 1005
    assert events[0][2] == "Create"


def test_item_rules() -> None:
    clock = Clock()
    ledger = Ledger(clock)
    realm = create_realm(clock, "2", "Items")
    with pytest.raises(ApiFault) as missing_account:
        ledger.create(realm, SPECS["Item"], {"Name": "Svc", "Type": "Service"}, False)
    assert missing_account.value.code == "2020"
    with pytest.raises(ApiFault) as bad_type:
        ledger.create(realm, SPECS["Item"], {"Name": "X", "Type": "Gizmo"}, False)
    assert bad_type.value.code == "2170"
    with pytest.raises(ApiFault) as duplicate:
        ledger.create(realm, SPECS["Item"], {"Name": "hours", "Type": "NonInventory"}, False)
    assert duplicate.value.code == "6240"


async def test_admin_payment_records_inspection_clock_and_reset() -> None:
    app = create_app(
        EmulatorConfig(static_tokens=frozenset({"t"}), companies=[CompanySeed(realm_id="42")])
    )
    headers = {"Authorization": "Bearer t", "Accept": "application/json"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emu") as c:
        query = {"query": "select * from Customer maxresults 1"}
        found = await c.get("/v3/company/42/query", params=query, headers=headers)
        customer = found.json()["QueryResponse"]["Customer"][0]
        item = await c.get(
            "/v3/company/42/query", params={"query": "select * from Item"}, headers=headers
        )
        line = {
            "Amount": 12,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {
                "ItemRef": {"value": item.json()["QueryResponse"]["Item"][0]["Id"]}
            },
        }
        body = {"CustomerRef": {"value": customer["Id"]}, "Line": [line]}
        invoice = (await c.post("/v3/company/42/invoice", json=body, headers=headers)).json()[
            "Invoice"
        ]
        paid = await c.post("/_emulator/companies/42/payments", json={"invoice_id": invoice["Id"]})
        assert paid.status_code == 201
        after = await c.get(f"/v3/company/42/invoice/{invoice['Id']}", headers=headers)
        assert after.json()["Invoice"]["Balance"] == 0

        deactivate = {
            "Id": customer["Id"],
            "SyncToken": customer["SyncToken"],
            "sparse": True,
            "Active": False,
        }
        refused = await c.post("/v3/company/42/customer", json=deactivate, headers=headers)
        assert refused.status_code == 200  # balance is zero again, so deactivation is allowed
        records = (await c.get("/_emulator/companies/42/records/customer")).json()["records"]
        assert any(r["Id"] == customer["Id"] and r["Active"] is False for r in records)

        before = (await c.get("/_emulator/clock")).json()["now"]
        moved = (await c.post("/_emulator/clock/advance", json={"seconds": 86400})).json()["now"]
        assert moved[:10] > before[:10]

        assert (await c.post("/_emulator/reset")).json() == {"reset": True}
        assert (await c.get("/_emulator/companies")).json() == []
        gone = await c.get("/v3/company/42/preferences", headers=headers)
        assert gone.status_code == 403
