"""The partner rules of issue 6, each against the emulator over HTTP, the real broker and database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from partner_harness import Harness, ServiceUnderTest, wait_until

from qbsync_common.contract import events

pytestmark = pytest.mark.integration


async def test_new_client_is_created_with_one_qbo_call_and_reported(
    harness: Harness, running: ServiceUnderTest
) -> None:
    # Warm the tenant's name index first, as a connected tenant's would be.
    await running.service.directory.names(harness.tenant)
    before = running.transport.total_calls
    event_id = await harness.upsert("c-1", "Acme Translations", email="billing@acme.example")
    [result] = await harness.result("c-1")
    assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    [record] = await harness.qbo_named("Acme Translations")
    assert result["data"]["sync_key"] == record["Id"]
    assert result["data"]["adopted"] is False
    assert record["PrimaryEmailAddr"]["Address"] == "billing@acme.example"
    assert running.transport.total_calls - before == 1
    [entry] = await harness.history("c-1")
    assert entry["event_id"] == event_id and entry["action"] == "created"
    assert entry["request_id"] and entry["intuit_tid"] and entry["qbo_id"] == record["Id"]
    assert entry["operation_id"] == result["data"]["operation_id"]


async def test_existing_qbo_customer_with_the_same_name_is_adopted_even_inactive(
    harness: Harness, running: ServiceUnderTest
) -> None:
    made = await harness.qbo_api(
        "POST", "customer", json={"DisplayName": "Old Friend Ltd", "Active": False}
    )
    existing = made.json()["Customer"]
    await harness.upsert("c-2", "Old Friend Ltd")
    [result] = await harness.result("c-2")
    assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    assert result["data"]["adopted"] is True
    assert result["data"]["sync_key"] == existing["Id"]
    [record] = await harness.qbo_named("Old Friend Ltd")
    assert record["Active"] is True  # upstream says active: QBO's copy is overwritten


async def test_same_event_twice_and_two_events_at_once_make_one_record(
    harness: Harness, running: ServiceUnderTest
) -> None:
    data = events.PartnerUpserted(
        kind="client", partner_id="c-3", version=1, name="Twice Inc", currency="USD", active=True
    )
    event_id = await harness.publish(data)
    await harness.publish(data, event_id=event_id)  # redelivery of the same event
    await harness.publish(data.model_copy(update={"version": 2, "email": "a@twice.example"}))
    await harness.publish(data.model_copy(update={"version": 3, "email": "b@twice.example"}))
    results = await harness.result("c-3", count=3)
    assert {r["type"] for r in results} <= {
        "qbsync.partner.synced.v1",
        "qbsync.partner.skipped.v1",
    }
    records = await harness.qbo_named("Twice Inc")
    assert len(records) == 1
    assert records[0]["PrimaryEmailAddr"]["Address"] == "b@twice.example"
    row = await harness.partner_row("c-3")
    assert row is not None and row["version"] == 3 and row["sync_key"] == records[0]["Id"]


async def test_key_whose_record_is_gone_is_dropped_then_matched_or_created(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-4", "Gone Away Co")
    [first] = await harness.result("c-4")
    # The stored key now points at a record QBO does not have (deleted/merged by hand).
    await harness.fetch(
        "UPDATE {s}.partners SET sync_key='999999', sync_token='0' "
        "WHERE tenant_id=$1 AND partner_id='c-4'",
        harness.tenant,
    )
    await harness.upsert("c-4", "Gone Away Co", version=2, phone="+1 555 0100")
    results = await harness.result("c-4", count=2)
    assert results[1]["type"] == "qbsync.partner.synced.v1", str(results[1]["data"])
    # Matched by name: the same QBO record is adopted again, no second record.
    assert results[1]["data"]["sync_key"] == first["data"]["sync_key"]
    assert results[1]["data"]["adopted"] is True
    [record] = await harness.qbo_named("Gone Away Co")
    assert record["PrimaryPhone"]["FreeFormNumber"] == "+1 555 0100"
    actions = [h["action"] for h in await harness.history("c-4")]
    assert actions == ["created", "key-dropped", "adopted"]


async def test_record_deactivated_by_hand_in_qbo_is_reactivated_by_the_next_update(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-5", "Sleepy Ltd")
    [first] = await harness.result("c-5")
    key = first["data"]["sync_key"]
    current = (await harness.qbo_api("GET", f"customer/{key}")).json()["Customer"]
    off = await harness.qbo_api(
        "POST",
        "customer",
        json={"Id": key, "SyncToken": current["SyncToken"], "Active": False, "sparse": True},
    )
    assert off.status_code == 200
    await harness.upsert("c-5", "Sleepy Ltd", version=2)
    results = await harness.result("c-5", count=2)
    assert results[1]["type"] == "qbsync.partner.synced.v1", str(results[1]["data"])
    [record] = await harness.qbo_named("Sleepy Ltd")
    assert record["Active"] is True and record["Id"] == key


async def test_deactivation_reactivation_and_inactive_never_created(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-6", "Never Active", active=False)
    [skipped] = await harness.result("c-6")
    assert skipped["type"] == "qbsync.partner.skipped.v1"
    assert skipped["data"]["reason_code"] == "inactive"
    assert await harness.qbo_named("Never Active") == []

    await harness.upsert("c-7", "Comes And Goes")
    await harness.result("c-7")
    await harness.publish(events.PartnerDeactivated(kind="client", partner_id="c-7", version=2))
    await harness.result("c-7", count=2)
    [record] = await harness.qbo_named("Comes And Goes")
    assert record["Active"] is False
    await harness.upsert("c-7", "Comes And Goes", version=3)
    results = await harness.result("c-7", count=3)
    assert [r["type"] for r in results] == ["qbsync.partner.synced.v1"] * 3
    [record] = await harness.qbo_named("Comes And Goes")
    assert record["Active"] is True


async def test_deactivating_a_partner_with_an_open_balance_fails_with_that_reason(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-8", "Owes Money Inc")
    [first] = await harness.result("c-8")
    items = await harness.qbo_api(
        "POST",
        "query",
        content="select * from Item where Name = 'Services'",
        headers={"Content-Type": "application/text"},
    )
    item_id = items.json()["QueryResponse"]["Item"][0]["Id"]
    invoice = await harness.qbo_api(
        "POST",
        "invoice",
        json={
            "CustomerRef": {"value": first["data"]["sync_key"]},
            "Line": [
                {
                    "Amount": 100,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": item_id}},
                }
            ],
        },
    )
    assert invoice.status_code == 200, invoice.text
    await harness.publish(events.PartnerDeactivated(kind="client", partner_id="c-8", version=2))
    results = await harness.result("c-8", count=2)
    assert results[1]["type"] == "qbsync.partner.sync_failed.v1", str(results[1]["data"])
    assert results[1]["data"]["reason_code"] == "open-balance"
    [record] = await harness.qbo_named("Owes Money Inc")
    assert record["Active"] is True
    # Support asks Intuit about the refused write by its requestid and intuit_tid.
    created, refused = await harness.history("c-8")
    assert refused["action"] == "failed" and refused["reason"] == "open-balance"
    assert refused["request_id"] and refused["request_id"] != created["request_id"]
    assert refused["intuit_tid"]


async def test_currency_change_is_refused_and_not_sent(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-9", "Dollar Co", currency="USD")
    await harness.result("c-9")
    await harness.upsert("c-9", "Dollar Co Renamed", currency="EUR", version=2)
    results = await harness.result("c-9", count=2)
    assert results[1]["type"] == "qbsync.partner.sync_failed.v1", str(results[1]["data"])
    assert results[1]["data"]["reason_code"] == "currency-change-refused"
    assert "USD" in results[1]["data"]["message"] and "EUR" in results[1]["data"]["message"]
    assert await harness.qbo_named("Dollar Co Renamed") == []  # nothing was sent
    row = await harness.partner_row("c-9")
    assert row is not None and row["status"] == "failed" and row["currency"] == "USD"


async def test_client_and_vendor_with_one_name_follow_the_tenants_rule(
    harness: Harness, running: ServiceUnderTest
) -> None:
    # Default rule: vendors get " (V)", clients keep the bare name.
    await harness.upsert("v-1", "Shared Name LLC", kind="vendor")
    await harness.result("v-1")
    await harness.upsert("c-10", "Shared Name LLC")
    [client] = await harness.result("c-10")
    assert client["type"] == "qbsync.partner.synced.v1", str(client["data"])
    [customer] = await harness.qbo_named("Shared Name LLC", "Customer")
    assert customer["Id"] == client["data"]["sync_key"]
    # The vendor that held the name was renamed by the rule to free it for the client.
    [vendor] = await harness.qbo_named("Shared Name LLC (V)", "Vendor")
    row = await harness.partner_row("v-1", "vendor")
    assert row is not None and row["sync_key"] == vendor["Id"]
    assert row["qbo_name"] == "Shared Name LLC (V)"

    # The other order: the client holds the name, the new vendor takes its suffix at once.
    await harness.upsert("c-11", "Second Shared")
    await harness.result("c-11")
    await harness.upsert("v-2", "Second Shared", kind="vendor")
    [vendor_result] = await harness.result("v-2")
    [vendor2] = await harness.qbo_named("Second Shared (V)", "Vendor")
    assert vendor_result["data"]["sync_key"] == vendor2["Id"]


async def test_names_with_colons_quotes_unicode_and_500_characters(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-12", 'O\'Brien "Quotes": Zoë 東京\tLtd')
    [result] = await harness.result("c-12")
    assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    [record] = await harness.qbo_named('O\'Brien "Quotes" - Zoë 東京 Ltd')
    assert record["Id"] == result["data"]["sync_key"]
    long_name = "L" * 499 + "é"
    await harness.upsert("c-13", long_name)
    [long_result] = await harness.result("c-13")
    assert long_result["type"] == "qbsync.partner.synced.v1", str(long_result["data"])
    assert len(await harness.qbo_named(long_name)) == 1


async def test_an_older_version_never_overwrites_a_newer_one(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-14", "Versioned", version=5, email="new@versioned.example")
    await harness.result("c-14")
    await harness.upsert("c-14", "Versioned", version=4, email="old@versioned.example")
    results = await harness.result("c-14", count=2)
    assert results[1]["type"] == "qbsync.partner.skipped.v1", str(
        [(r["id"], r["data"]) for r in results]
    )
    assert results[1]["data"]["reason_code"] == "older-version"
    [record] = await harness.qbo_named("Versioned")
    assert record["PrimaryEmailAddr"]["Address"] == "new@versioned.example"


async def test_a_record_renamed_by_hand_is_not_adopted_under_its_old_name(
    harness: Harness, running: ServiceUnderTest
) -> None:
    made = await harness.qbo_api("POST", "customer", json={"DisplayName": "Before Rename"})
    record = made.json()["Customer"]
    await running.service.directory.names(harness.tenant)  # the index knows "Before Rename"
    renamed = await harness.qbo_api(
        "POST",
        "customer",
        json={
            "Id": record["Id"],
            "SyncToken": record["SyncToken"],
            "DisplayName": "After Rename",
            "sparse": True,
        },
    )
    assert renamed.status_code == 200
    await harness.publish(
        events.QboEntitiesChanged(
            realm_id=harness.realm,
            entities=[
                events.EntityChange(
                    name="Customer",
                    id=record["Id"],
                    operation="Update",
                    last_updated=datetime.now(UTC),
                )
            ],
        )
    )
    await asyncio.sleep(0.5)  # the webhook event has no result; let it be consumed
    await harness.upsert("c-15", "Before Rename")
    [result] = await harness.result("c-15")
    assert result["data"]["adopted"] is False
    assert result["data"]["sync_key"] != record["Id"]
    assert len(await harness.qbo_named("After Rename")) == 1


async def test_fields_emptied_upstream_are_cleared_in_qbo_and_website_and_tax_id_are_sent(
    harness: Harness, running: ServiceUnderTest
) -> None:
    full = {
        "email": "ap@clearme.example",
        "phone": "+1 555 0199",
        "company_name": "Clear Me Holdings",
        "website": "https://clearme.example",
        "tax_id": "DE123456789",
        "billing_address": {"line1": "1 Main St", "line2": "Suite 2", "city": "Springfield"},
    }
    await harness.upsert("c-clear", "Clear Me", **full)
    [first] = await harness.result("c-clear")
    assert first["type"] == "qbsync.partner.synced.v1", str(first["data"])
    [record] = await harness.qbo_named("Clear Me")
    assert record["WebAddr"]["URI"] == "https://clearme.example"
    assert record["PrimaryTaxIdentifier"] == "DE123456789"
    assert record["BillAddr"]["Line2"] == "Suite 2"
    # A field QBO holds outside upstream's set must survive the full update that clears ours.
    notes = await harness.qbo_api(
        "POST",
        "customer",
        json={
            "Id": record["Id"],
            "SyncToken": record["SyncToken"],
            "Notes": "kept by QBO",
            "sparse": True,
        },
    )
    assert notes.status_code == 200, notes.text

    await harness.upsert(
        "c-clear",
        "Clear Me",
        version=2,
        website="https://new.clearme.example",
        billing_address={"line1": "1 Main St", "city": "Springfield"},
    )
    results = await harness.result("c-clear", count=2)
    assert results[1]["type"] == "qbsync.partner.synced.v1", str(results[1]["data"])
    [after] = await harness.qbo_named("Clear Me")
    assert after["Id"] == record["Id"]
    for emptied in ("PrimaryEmailAddr", "PrimaryPhone", "CompanyName", "PrimaryTaxIdentifier"):
        assert not after.get(emptied), (emptied, after.get(emptied))
    assert after["BillAddr"]["Line1"] == "1 Main St" and not after["BillAddr"].get("Line2")
    assert after["WebAddr"]["URI"] == "https://new.clearme.example"
    assert after["Notes"] == "kept by QBO"
    assert after["CurrencyRef"]["value"] == "USD" and after["Active"] is True

    # The address emptied too: no address left in QBO.
    await harness.upsert("c-clear", "Clear Me", version=3)
    await harness.result("c-clear", count=3)
    [last] = await harness.qbo_named("Clear Me")
    assert not any((last.get("BillAddr") or {}).get(k) for k in ("Line1", "City"))
    assert not last.get("WebAddr")


async def test_vendor_tax_id_goes_to_tax_identifier(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("v-tax", "Taxed Vendor", kind="vendor", tax_id="12-3456789")
    [result] = await harness.result("v-tax")
    assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    [vendor] = await harness.qbo_named("Taxed Vendor", "Vendor")
    assert vendor["TaxIdentifier"] == "12-3456789"


async def test_key_whose_record_is_gone_and_no_name_match_creates_a_new_record(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-16", "Vanished Before")
    [first] = await harness.result("c-16")
    await harness.fetch(
        "UPDATE {s}.partners SET sync_key='999998', sync_token='0' "
        "WHERE tenant_id=$1 AND partner_id='c-16'",
        harness.tenant,
    )
    # Renamed upstream too: no QBO record carries the new name, so nothing can be adopted.
    await harness.upsert("c-16", "Vanished After", version=2)
    results = await harness.result("c-16", count=2)
    assert results[1]["type"] == "qbsync.partner.synced.v1", str(results[1]["data"])
    assert results[1]["data"]["adopted"] is False
    [record] = await harness.qbo_named("Vanished After")
    assert results[1]["data"]["sync_key"] == record["Id"] != first["data"]["sync_key"]
    history = await harness.history("c-16")
    assert [h["action"] for h in history] == ["created", "key-dropped", "created"]
    assert history[1]["qbo_id"] == "999998"
    row = await harness.partner_row("c-16")
    assert row is not None and row["sync_key"] == record["Id"] and row["key_generation"] == 1


async def test_a_name_held_by_an_employee_fails_a_client_and_suffixes_a_vendor(
    harness: Harness, running: ServiceUnderTest
) -> None:
    """Employees are never adopted (they are not customers or vendors) and not indexed. A client
    keeps its bare name under the default rule, so it fails with a reason naming the Employee
    for an operator to resolve; a vendor takes the rule's suffix and is created."""
    made = await harness.qbo_api("POST", "employee", json={"DisplayName": "Pat Employee"})
    assert made.status_code == 200, made.text
    await harness.upsert("c-17", "Pat Employee")
    [client] = await harness.result("c-17")
    assert client["type"] == "qbsync.partner.sync_failed.v1", str(client["data"])
    assert client["data"]["reason_code"] == "name-conflict"
    assert "Employee" in client["data"]["message"]
    assert await harness.qbo_named("Pat Employee") == []

    await harness.upsert("v-17", "Pat Employee", kind="vendor")
    [vendor] = await harness.result("v-17")
    assert vendor["type"] == "qbsync.partner.synced.v1", str(vendor["data"])
    [record] = await harness.qbo_named("Pat Employee (V)", "Vendor")
    assert vendor["data"]["sync_key"] == record["Id"]


async def test_a_record_edited_in_qbo_between_our_writes_is_reread_and_updated(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-18", "Edited Meanwhile", email="old@edited.example")
    [first] = await harness.result("c-18")
    key = first["data"]["sync_key"]
    current = (await harness.qbo_api("GET", f"customer/{key}")).json()["Customer"]
    edited = await harness.qbo_api(
        "POST",
        "customer",
        json={"Id": key, "SyncToken": current["SyncToken"], "Notes": "by hand", "sparse": True},
    )
    assert edited.status_code == 200, edited.text
    row = await harness.partner_row("c-18")
    assert row is not None and row["sync_token"] == current["SyncToken"]  # ours is stale now
    stale_before = await _refused_customer_writes(harness)

    await harness.upsert("c-18", "Edited Meanwhile", version=2, email="new@edited.example")
    results = await harness.result("c-18", count=2)
    assert results[1]["type"] == "qbsync.partner.synced.v1", str(results[1]["data"])
    [record] = await harness.qbo_named("Edited Meanwhile")
    assert record["PrimaryEmailAddr"]["Address"] == "new@edited.example"
    assert record["Notes"] == "by hand"
    assert results[1]["data"]["sync_token"] == record["SyncToken"]
    assert int(record["SyncToken"]) == int(current["SyncToken"]) + 2
    assert (
        await _refused_customer_writes(harness) == stale_before + 1
    )  # QBO's 5010, then the re-read
    assert [h["action"] for h in await harness.history("c-18")] == ["created", "updated"]


async def _refused_customer_writes(harness: Harness) -> int:
    stats = (await harness.admin("GET", "/stats")).json()
    return sum(
        c["count"]
        for c in stats["calls"]
        if c["method"] == "POST" and c["endpoint"] == "customer" and c["status"] == 400
    )


async def test_connecting_warms_the_name_index_so_a_first_partner_costs_one_call(
    harness: Harness, running: ServiceUnderTest
) -> None:
    directory = running.service.directory
    assert not directory.is_loaded(harness.tenant)
    await harness.publish(
        events.TenantConnected(realm_id=harness.realm, connected_at=datetime.now(UTC))
    )

    async def warm() -> bool:
        return directory.is_loaded(harness.tenant)

    await wait_until(warm, 15, "the name index loaded at connect")
    before = running.transport.total_calls
    await harness.upsert("c-19", "First After Connect")
    [result] = await harness.result("c-19")
    assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    assert running.transport.total_calls - before == 1


async def test_a_customer_created_by_hand_is_indexed_from_the_webhook_and_adopted(
    harness: Harness, running: ServiceUnderTest
) -> None:
    directory = running.service.directory
    index = await directory.names(harness.tenant)
    await harness.upsert("c-own", "Made By Us")
    [own] = await harness.result("c-own")
    [ours] = await harness.qbo_named("Made By Us")
    made = await harness.qbo_api("POST", "customer", json={"DisplayName": "Made By Hand"})
    record = made.json()["Customer"]
    before = running.transport.total_calls
    await harness.publish(
        events.QboEntitiesChanged(
            realm_id=harness.realm,
            entities=[
                events.EntityChange(
                    name="Customer",
                    id=entity["Id"],
                    operation="Create",
                    last_updated=datetime.fromisoformat(entity["MetaData"]["LastUpdatedTime"]),
                )
                for entity in (ours, record)
            ],
        )
    )

    async def indexed() -> bool:
        return index.lookup("Made By Hand") is not None

    await wait_until(indexed, 15, "the hand-made name in the index")
    hit = index.lookup("Made By Hand")
    assert hit is not None and hit.qbo_id == record["Id"] and hit.entity == "Customer"
    # Our own create was recognised by its LastUpdatedTime: only the hand-made one was read.
    assert running.transport.total_calls - before == 1
    assert own["data"]["sync_key"] == ours["Id"]
    refusals_before = await _refused_customer_writes(harness)
    await harness.upsert("c-20", "Made By Hand")
    [result] = await harness.result("c-20")
    assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    assert result["data"]["adopted"] is True and result["data"]["sync_key"] == record["Id"]
    # Adopted straight from the index: no create was tried and refused with 6240.
    assert await _refused_customer_writes(harness) == refusals_before
