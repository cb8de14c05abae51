"""The partner rules of issue 6, each against the emulator over HTTP, the real broker and database."""

from __future__ import annotations

import pytest
from partner_harness import Harness, ServiceUnderTest

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
    assert result["type"] == "qbsync.partner.synced.v1"
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
    assert result["type"] == "qbsync.partner.synced.v1"
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
