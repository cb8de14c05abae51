"""The backfill is a durable job: a replica that stops mid-way gives it back, one that dies leaves
it to its lease, and another replica resumes it; every partner ends in QBO exactly once, and
GET /backfill reads the job's state from the table whichever replica asks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from partner_harness import Harness, ServiceUnderTest, make_service, wait_until

from partner_sync.entrypoints.operator_api import operator_router
from qbsync_common.operator_auth import OperatorKeys

pytestmark = pytest.mark.integration

KEY = "operator-key-for-tests"
PARTNERS = 210  # seven chunks of 30


class StallAfterBatches(httpx.AsyncBaseTransport):
    """Lets `allowed` batch calls through; later ones reach QBO (which creates the records) but
    the answer never comes back, like a replica stopped between QBO's work and our commit."""

    def __init__(self, allowed: int) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._allowed = allowed
        self.batches = 0
        self.stalled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        batch = request.url.path.endswith("/batch")
        self.batches += batch
        ordinal = self.batches  # chunks run concurrently: judge this call by its own number
        response = await self._inner.handle_async_request(request)
        if batch and ordinal > self._allowed:
            await response.aread()
            self.stalled += 1
            await asyncio.Event().wait()  # until the replica stops (cancelled)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def api_of(sut: ServiceUnderTest) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(operator_router(sut.service.actions, OperatorKeys([KEY])))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ops", headers={"X-API-Key": KEY}
    )


@pytest.fixture
async def pending(harness: Harness) -> list[str]:
    """PARTNERS clients upstream told us about, not synced yet (a newly connected tenant)."""
    await harness.fetch(
        "INSERT INTO {s}.partners (tenant_id, kind, partner_id, snapshot, version, status) "
        "SELECT $1, 'client', 'dur-' || lpad(n::text, 3, '0'), jsonb_build_object('kind', "
        "'client', 'partner_id', 'dur-' || lpad(n::text, 3, '0'), 'version', 1, 'name', "
        "'Durable Partner ' || n, 'currency', 'USD', 'active', true), 1, 'pending' "
        "FROM generate_series(1, $2::int) AS n",
        harness.tenant,
        PARTNERS,
    )
    return [f"dur-{n:03d}" for n in range(1, PARTNERS + 1)]


async def started(harness: Harness, **kw: object) -> ServiceUnderTest:
    sut = make_service(harness, **kw)  # type: ignore[arg-type]
    await sut.start()
    harness.services.append(sut)
    return sut


async def status(sut: ServiceUnderTest, harness: Harness) -> dict[str, Any]:
    async with api_of(sut) as api:
        response = await api.get(f"/v1/tenants/{harness.tenant}/backfill")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


async def until_state(sut: ServiceUnderTest, harness: Harness, check: Callable[..., bool]) -> None:
    last: dict[str, Any] = {}

    async def reached() -> bool:
        last.update(await status(sut, harness))
        return check(last)

    try:
        await wait_until(reached, 90, "the backfill's state")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last seen {last}") from None


async def assert_exactly_once_in_qbo(harness: Harness, partners: list[str]) -> None:
    async def all_synced() -> bool:
        rows = await harness.fetch(
            "SELECT count(*) AS n FROM {s}.partners WHERE tenant_id=$1 AND status='synced'",
            harness.tenant,
        )
        return int(rows[0]["n"]) == len(partners)

    await wait_until(all_synced, 90, "every partner synced")
    customers = await harness.qbo_records("Customer")
    by_name: dict[str, list[str]] = {}
    for c in customers:
        by_name.setdefault(c["DisplayName"], []).append(c["Id"])
    rows = await harness.fetch(
        "SELECT partner_id, sync_key FROM {s}.partners WHERE tenant_id=$1", harness.tenant
    )
    keys = {r["partner_id"]: r["sync_key"] for r in rows}
    for partner_id in partners:
        name = f"Durable Partner {int(partner_id.removeprefix('dur-'))}"
        assert by_name.get(name) == [keys[partner_id]], (name, by_name.get(name))


async def test_a_backfill_stopped_mid_way_is_resumed_by_another_replica_exactly_once(
    harness: Harness, pending: list[str]
) -> None:
    stalling = StallAfterBatches(allowed=2)
    first = await started(harness, http=stalling)
    assert await first.service.actions.start_backfill(harness.tenant)
    # Two chunks committed; the next four (as many as run at once) are in QBO without our
    # commit, their answers never came; the seventh waits for a free slot.
    await until_state(first, harness, lambda s: s["batched"] == 60)
    await wait_until(lambda: _true(stalling.stalled == 4), 30, "four stalled batch calls")
    second = await started(harness)
    async with api_of(second) as api:
        busy = await api.post(f"/v1/tenants/{harness.tenant}/backfill")
    assert busy.status_code == 409  # running, held by the first replica: not started twice

    await first.stop()  # gives the job back
    await until_state(second, harness, lambda s: s["state"] == "done")

    await assert_exactly_once_in_qbo(harness, pending)
    # Reported from the table: the stopped replica reads what the other one finished.
    final = await status(first, harness)
    assert final["state"] == "done" and final["takeovers"] == 1
    # 60 before the stop and the seventh chunk's 30 after; the 120 QBO created unanswered were
    # found by name and adopted the normal way.
    assert (final["batched"], final["handed_over"]) == (90, 120)
    adopted = [p for p in pending if harness.results_for(p, "synced.v1")[-1]["data"]["adopted"]]
    assert len(adopted) == 120


async def test_a_lost_backfill_task_is_claimed_by_another_replica_once_its_lease_expires(
    harness: Harness, pending: list[str]
) -> None:
    stalling = StallAfterBatches(allowed=1)
    first = await started(harness, http=stalling, backfill_lease_s=2.0)
    assert await first.service.actions.start_backfill(harness.tenant)
    await until_state(first, harness, lambda s: s["batched"] == 30)
    # The task is lost as in a crash: no release and no more renewals, only the lease is left.
    [task] = first.service.backfills._tasks.values()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await first.stop()
    held = await harness.fetch(
        "SELECT owner, state FROM {s}.backfill_jobs WHERE tenant_id=$1", harness.tenant
    )
    assert held[0]["owner"] == first.service.backfills.owner and held[0]["state"] == "running"

    second = await started(harness, backfill_lease_s=2.0)
    await until_state(second, harness, lambda s: s["state"] == "done")

    await assert_exactly_once_in_qbo(harness, pending)
    final = await status(second, harness)
    assert final["takeovers"] == 1 and final["batched"] >= 30
    assert final["batched"] + final["handed_over"] >= PARTNERS  # nothing left behind


async def _true(value: bool) -> bool:
    return value
