"""Tenant settings (kinds, contact types, sub-customers), projects, sync commands, two replicas."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from partner_harness import TOKEN, Harness, ServiceUnderTest, make_service

from qbo_client.limiter import RealmLimits
from qbo_client.tokens import AccessToken, StaticTokenProvider
from qbsync_common.contract import events
from qbsync_common.contract.partner_snapshot import PartnerSnapshot
from qbsync_common.contract.tenant_settings import TenantSettings

pytestmark = pytest.mark.integration


async def test_disabled_kinds_and_filtered_contact_types_are_skipped(
    harness: Harness, running: ServiceUnderTest
) -> None:
    harness.tenant_settings.set(
        harness.tenant, TenantSettings(sync_vendors=False, contact_types=["agency"])
    )
    await harness.upsert("v-off", "Vendor Not Synced", kind="vendor", contact_type="agency")
    await harness.upsert("c-lead", "Just A Lead", contact_type="lead")
    await harness.upsert("c-agency", "Real Agency", contact_type="agency")
    [vendor] = await harness.result("v-off")
    [lead] = await harness.result("c-lead")
    [agency] = await harness.result("c-agency")
    assert vendor["data"]["reason_code"] == "partner-kind-disabled"
    assert lead["data"]["reason_code"] == "contact-type-filtered"
    assert agency["type"] == "qbsync.partner.synced.v1"
    assert await harness.qbo_named("Vendor Not Synced", "Vendor") == []
    assert await harness.qbo_named("Just A Lead") == []


async def test_settings_changed_event_replaces_the_cached_settings(
    harness: Harness, running: ServiceUnderTest
) -> None:
    changed = TenantSettings(sync_clients=False)
    await harness.publish(
        events.TenantSettingsChanged(version=3, settings=changed.model_dump(mode="json"))
    )
    await asyncio.sleep(0.5)  # nothing is published for it; give the consumer a moment
    await harness.upsert("c-after-change", "After Change")
    [result] = await harness.result("c-after-change")
    assert result["data"]["reason_code"] == "partner-kind-disabled"


async def test_projects_become_sub_customers_when_the_tenant_turns_it_on(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-proj", "Project Owner")
    [client] = await harness.result("c-proj")
    project = events.ProjectUpserted(
        project_id="p-1", client_id="c-proj", name="Website: 2026", active=True, version=1
    )
    await harness.publish(project)
    [skipped] = await harness.result("p-1")
    assert skipped["type"] == "qbsync.project.skipped.v1"
    assert skipped["data"]["reason_code"] == "sub-customers-disabled"

    harness.tenant_settings.set(harness.tenant, TenantSettings(projects_as_sub_customers=True))
    await harness.publish(project.model_copy(update={"version": 2}))
    results = await harness.result("p-1", count=2)
    assert results[1]["type"] == "qbsync.project.synced.v1", str(results[1]["data"])
    [job] = await harness.qbo_named("Website - 2026")
    assert job["Id"] == results[1]["data"]["sync_key"]
    assert job["ParentRef"]["value"] == client["data"]["sync_key"]
    assert job["Job"] is True


async def test_sync_command_is_answered_from_state_without_calling_qbo(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.upsert("c-cmd", "Commanded Co")
    [first] = await harness.result("c-cmd")
    before = running.transport.total_calls
    await harness.publish(
        events.SyncPartner(
            kind="client",
            partner_id="c-cmd",
            requested_by="invoice-sync",
            reason="first-invoice",
            correlation_id="inv-1",
        )
    )
    results = await harness.result("c-cmd", count=2)
    assert results[1]["type"] == "qbsync.partner.synced.v1"
    assert results[1]["data"]["sync_key"] == first["data"]["sync_key"]
    assert running.transport.total_calls == before
    # A command carrying a newer snapshot than ours syncs it.
    newer = PartnerSnapshot(
        kind="client",
        partner_id="c-cmd",
        version=2,
        name="Commanded Co",
        email="new@commanded.example",
        currency="USD",
        active=True,
    )
    await harness.publish(
        events.SyncPartner(
            kind="client",
            partner_id="c-cmd",
            requested_by="invoice-sync",
            reason="first-invoice",
            partner=newer,
        )
    )
    await harness.result("c-cmd", count=3)
    [record] = await harness.qbo_named("Commanded Co")
    assert record["PrimaryEmailAddr"]["Address"] == "new@commanded.example"


async def test_two_replicas_racing_on_one_partner_make_one_record(harness: Harness) -> None:
    replicas = [make_service(harness), make_service(harness)]
    for replica in replicas:
        await replica.start()
        harness.services.append(replica)
    base = events.PartnerUpserted(
        kind="vendor",
        partner_id="v-race",
        version=1,
        name="Race Vendor",
        currency="USD",
        active=True,
    )
    await asyncio.gather(
        *(
            harness.publish(base.model_copy(update={"version": v, "phone": f"+1 555 01{v:02}"}))
            for v in range(1, 9)
        )
    )
    await harness.result("v-race", count=8, within=30)
    records = await harness.qbo_named("Race Vendor", "Vendor")
    assert len(records) == 1
    row = await harness.partner_row("v-race", "vendor")
    assert row is not None and row["version"] == 8 and row["sync_key"] == records[0]["Id"]
    assert records[0]["PrimaryPhone"]["FreeFormNumber"] == "+1 555 0108"


async def test_a_project_that_arrived_before_its_client_follows_once_the_client_is_synced(
    harness: Harness, running: ServiceUnderTest
) -> None:
    harness.tenant_settings.set(harness.tenant, TenantSettings(projects_as_sub_customers=True))
    await harness.publish(
        events.ProjectUpserted(
            project_id="p-early", client_id="c-late", name="Early Job", active=True, version=1
        )
    )
    [failed] = await harness.result("p-early")
    assert failed["type"] == "qbsync.project.sync_failed.v1"
    await harness.upsert("c-late", "Late Client")
    [client] = await harness.result("c-late")
    results = await harness.result("p-early", count=2)
    assert results[1]["type"] == "qbsync.project.synced.v1", str(results[1]["data"])
    [job] = await harness.qbo_named("Early Job")
    assert job["ParentRef"]["value"] == client["data"]["sync_key"]


async def test_a_busy_tenant_is_deferred_and_does_not_hold_up_another_tenant(
    harness: Harness,
) -> None:
    other_realm = str(uuid.uuid4().int % 10**15)
    await harness.admin_post_company(other_realm)
    other_tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    expires = datetime.now(UTC) + timedelta(days=1)
    tokens = StaticTokenProvider(
        {
            harness.tenant: AccessToken(TOKEN, harness.realm, harness.emulator_url, expires),
            other_tenant: AccessToken(TOKEN, other_realm, harness.emulator_url, expires),
        }
    )
    # The busy tenant's company allows 2 calls a second; the other one is unconstrained.
    slow = RealmLimits(per_minute=500, per_second=2, concurrent=2, batch_per_minute=40)
    sut = make_service(
        harness,
        tokens=tokens,
        limits_for=lambda realm: slow if realm == harness.realm else RealmLimits(),
    )
    await sut.start()
    harness.services.append(sut)
    for i in range(20):
        await harness.upsert(f"busy-{i}", f"Busy Partner {i}")
    harness.other_tenants.add(other_tenant)
    started = asyncio.get_running_loop().time()
    await harness.publish(
        events.PartnerUpserted(
            kind="client",
            partner_id="quiet-1",
            version=1,
            name="Quiet One",
            currency="USD",
            active=True,
        ),
        tenant_id=other_tenant,
    )
    await harness.result("quiet-1", within=10)
    assert asyncio.get_running_loop().time() - started < 3.0
    for i in range(20):
        [result] = await harness.result(f"busy-{i}", within=40)
        assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    deferred = await harness.fetch(
        "SELECT count(*) AS n FROM {s}.partner_history WHERE tenant_id=$1 AND action='deferred'",
        harness.tenant,
    )
    assert deferred[0]["n"] > 0  # the busy tenant really was deferred, not waited for
    assert len(await harness.qbo_records("Customer")) >= 20
