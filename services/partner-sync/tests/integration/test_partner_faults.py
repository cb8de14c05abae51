"""Faults: a crash between the QBO write and our commit, QBO 5xx and lost responses, a revoked
tenant, malformed events. Nothing is lost and nothing is created twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from partner_harness import TOKEN, Harness, ServiceUnderTest, make_service, wait_until

from qbo_client.errors import TenantNeedsReauthorization
from qbo_client.tokens import AccessToken, StaticTokenProvider
from qbsync_common.contract import events

pytestmark = pytest.mark.integration


async def test_crash_after_the_qbo_create_before_our_commit_creates_no_duplicate(
    harness: Harness,
) -> None:
    crashes: list[str] = []

    def crash_once(point: str) -> None:
        # Stands in for SIGKILL at that point: the transaction never commits, the event returns.
        if point == "after-qbo-call" and not crashes:
            crashes.append(point)
            raise RuntimeError("simulated crash after the QBO call")

    first = make_service(harness, crash_hook=crash_once)
    await first.start()
    harness.services.append(first)
    await harness.upsert("c-crash", "Crash Test Dummy")

    async def crashed() -> bool:
        return bool(crashes)

    await wait_until(crashed, 10, "the crash point")
    # "Restart": a fresh instance (empty name index) takes over the redelivered event.
    await first.stop()
    second = make_service(harness)
    await second.start()
    harness.services.append(second)
    [result] = await harness.result("c-crash")
    assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    records = await harness.qbo_named("Crash Test Dummy")
    assert len(records) == 1
    assert result["data"]["sync_key"] == records[0]["Id"]
    assert result["data"]["adopted"] is True  # found by name after the restart


async def test_qbo_errors_and_lost_responses_are_retried_without_loss_or_duplicates(
    harness: Harness,
) -> None:
    sut = make_service(harness, max_attempts=10)
    await sut.start()
    harness.services.append(sut)
    await harness.admin(
        "PUT",
        "/faults",
        json={"error_rate": 0.2, "error_status": 503, "drop_after_commit_rate": 0.2, "seed": 7},
    )
    names = [f"Flaky Partner {i}" for i in range(8)]
    for i, name in enumerate(names):
        await harness.upsert(f"f-{i}", name)
    for i in range(len(names)):
        [result] = await harness.result(f"f-{i}", within=40)
        assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    await harness.admin("PUT", "/faults", json={})
    customers = await harness.qbo_records("Customer")
    for name in names:
        assert len([c for c in customers if c["DisplayName"] == name]) == 1
    stats = (await harness.admin("GET", "/stats")).json()
    assert stats  # the emulator really injected faults into this realm's traffic


class RevocableTokens(StaticTokenProvider):
    """The gateway's answer for a tenant whose refresh token Intuit refused, until reconnect."""

    revoked = True

    async def get_token(self, tenant_id: str, *, failed_token: str | None = None) -> AccessToken:
        if self.revoked:
            raise TenantNeedsReauthorization(f"tenant {tenant_id} must reconnect")
        return await super().get_token(tenant_id, failed_token=failed_token)


async def test_revoked_tenant_fails_with_needs_reauthorization_then_resumes_on_reconnect(
    harness: Harness,
) -> None:
    tokens = RevocableTokens.single(
        harness.tenant,
        access_token=TOKEN,
        realm_id=harness.realm,
        api_base_url=harness.emulator_url,
    )
    sut = make_service(harness, tokens=tokens)
    await sut.start()
    harness.services.append(sut)
    await harness.upsert("c-revoked", "Waits For Reconnect")
    [failed] = await harness.result("c-revoked")
    assert failed["type"] == "qbsync.partner.sync_failed.v1"
    assert failed["data"]["reason_code"] == "needs-reauthorization"
    row = await harness.partner_row("c-revoked")
    assert row is not None and row["waiting"] == "needs-reauthorization"

    tokens.revoked = False
    await harness.publish(
        events.TenantConnectionRecovered(realm_id=harness.realm, recovered_at=datetime.now(UTC))
    )
    results = await harness.result("c-revoked", count=2)
    assert results[1]["type"] == "qbsync.partner.synced.v1", str(results[1]["data"])
    assert len(await harness.qbo_named("Waits For Reconnect")) == 1
    row = await harness.partner_row("c-revoked")
    assert row is not None and row["waiting"] is None and row["status"] == "synced"


async def test_malformed_events_are_parked_with_their_reason(
    harness: Harness, running: ServiceUnderTest
) -> None:
    await harness.publish_raw(b"{not json")
    await harness.publish_raw(
        b'{"specversion":"1.0","id":"e-1","source":"x","type":"qbsync.partner.upserted.v1",'
        b'"tenantid":"' + harness.tenant.encode() + b'","time":"2026-01-01T00:00:00Z",'
        b'"datacontenttype":"application/json","data":{"kind":"client"}}'
    )
    parked: list[object] = []

    async def both_parked() -> bool:
        parked.extend(await harness.parked())
        return len(parked) >= 2

    deadline = asyncio.get_running_loop().time() + 15
    while not await both_parked():
        assert asyncio.get_running_loop().time() < deadline, "events were not parked"
        await asyncio.sleep(0.2)
    reasons = [m.headers.get("x-qbsync-park-reason") for m in parked]  # type: ignore[attr-defined]
    assert all(reasons), reasons
    assert harness.results == []
