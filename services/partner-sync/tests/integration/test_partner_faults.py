"""Faults: a crash between the QBO write and our commit, QBO 5xx and lost responses, a revoked
tenant, malformed events. Nothing is lost and nothing is created twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from partner_harness import TOKEN, Harness, ServiceUnderTest, make_service, wait_until

from qbo_client.errors import TenantNeedsReauthorization
from qbo_client.tokens import AccessToken, StaticTokenProvider
from qbsync_common.contract import events
from qbsync_dev.request_log import RequestLog

pytestmark = pytest.mark.integration

APP = Path(__file__).parent / "partner_app.py"


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
    # F8's mix, one fault shape at a time: JSON 503 with responses lost after QBO committed,
    # a 500, and the HTML 503 page QBO's edge serves.
    shapes = [
        {"error_rate": 0.2, "error_status": 503, "drop_after_commit_rate": 0.2, "seed": 7},
        {"error_rate": 0.3, "error_status": 500, "seed": 8},
        {"error_rate": 0.3, "error_status": 503, "html_503": True, "seed": 9},
    ]
    names: list[str] = []
    injected = 0
    for n, shape in enumerate(shapes):
        await harness.admin("PUT", "/faults", json=shape)
        batch = [f"Flaky Partner {n}-{i}" for i in range(5)]
        for name in batch:
            await harness.upsert(f"f-{name[14:]}", name)
        for name in batch:
            [result] = await harness.result(f"f-{name[14:]}", within=40)
            assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
        stats = (await harness.admin("GET", "/stats")).json()
        # The emulator really failed some of our calls with this shape.
        assert stats["injected_faults"] > injected, shape
        injected = stats["injected_faults"]
        names.extend(batch)
    await harness.admin("PUT", "/faults", json={})
    customers = await harness.qbo_records("Customer")
    for name in names:
        assert len([c for c in customers if c["DisplayName"] == name]) == 1


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
    expires = datetime.now(UTC) + timedelta(days=1)
    tokens = RevocableTokens(
        {harness.tenant: AccessToken(TOKEN, harness.realm, harness.emulator_url, expires)}
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


def start_app(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(APP)], env=env)


async def test_sigkill_after_the_qbo_create_then_restart_finds_the_record(
    harness: Harness, processes: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """RELIABILITY §6: the process dies (SIGKILL) after QBO created the customer and before our
    commit; the restarted process adopts that record instead of creating a second one."""
    crash_log = tmp_path / "crashes.log"
    env = {
        **os.environ,
        "QBSYNC_TEST_DSN": harness.dsn,
        "QBSYNC_TEST_DATABASE_URL": harness.database_url,
        "QBSYNC_TEST_BROKER_URL": harness.broker_url,
        "QBSYNC_TEST_SCHEMA": harness.schema,
        "QBSYNC_TEST_QUEUE": harness.queue,
        "QBSYNC_TEST_EMULATOR_URL": harness.emulator_url,
        "QBSYNC_TEST_REALM": harness.realm,
        "QBSYNC_TEST_TENANT": harness.tenant,
        "QBSYNC_LOG_LEVEL": "WARNING",
    }
    crashing = start_app(
        {
            **env,
            "QBSYNC_CRASH_AT": "after-qbo-call",
            "QBSYNC_CRASH_PROBABILITY": "1.0",
            "QBSYNC_CRASH_LOG": str(crash_log),
        }
    )
    processes.append(crashing)
    await harness.upsert("c-killed", "Killed Mid Create")
    await asyncio.to_thread(crashing.wait, 60)
    assert crashing.returncode == -signal.SIGKILL
    assert crash_log.read_text().split() == ["after-qbo-call"]
    assert len(await harness.qbo_named("Killed Mid Create")) == 1  # QBO has it, we do not
    assert await harness.partner_row("c-killed") is None

    restarted = start_app(env)
    processes.append(restarted)
    [result] = await harness.result("c-killed", within=60)
    assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    records = await harness.qbo_named("Killed Mid Create")
    assert len(records) == 1 and result["data"]["sync_key"] == records[0]["Id"]
    restarted.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(restarted.wait, 30) == 0


@pytest.mark.slow
async def test_a_429_backs_the_realm_off_for_a_minute_and_nothing_is_lost(
    harness: Harness,
) -> None:
    """F8: after a 429 no request reaches QBO for 60 s; the waiting work completes after it."""
    await harness.admin("PUT", "/limits", json={"per_minute": 3})
    log = RequestLog()
    sut = make_service(harness, max_wait=90.0, http=log)
    await sut.start()
    harness.services.append(sut)
    started = asyncio.get_running_loop().time()

    async def lift_the_limit_after_the_first_429() -> None:
        # From then on only our client's back-off keeps requests away from QBO, and the test
        # takes one minute rather than one per 429 that QBO's sliding window would add.
        await log.throttled.wait()
        await harness.admin("PUT", "/limits", json={"per_minute": None})

    lifting = asyncio.create_task(lift_the_limit_after_the_first_429())
    for i in range(5):
        await harness.upsert(f"t-{i}", f"Throttled Partner {i}")
    for i in range(5):
        [result] = await harness.result(f"t-{i}", within=200)
        assert result["type"] == "qbsync.partner.synced.v1", str(result["data"])
    await lifting
    assert asyncio.get_running_loop().time() - started >= 60
    stats = (await harness.admin("GET", "/stats")).json()
    # Requests in flight together may each get a 429 before the limit is lifted; every one of
    # them costs a full minute of silence, never a burst of retries.
    assert 1 <= stats["throttled"] <= 6
    throttled_at = log.throttled_at()
    assert len(throttled_at) == stats["throttled"]
    # Nothing but requests already admitted may leave until the minute after each 429 is over.
    early = log.sent_during_backoff(60.0)
    assert early == [], f"requests {early} s after a 429"
    customers = await harness.qbo_records("Customer")
    for i in range(5):
        assert len([c for c in customers if c["DisplayName"] == f"Throttled Partner {i}"]) == 1
