"""A tenant revoked mid-run: its events fail with needs-reauthorization, the other tenant's go on;
after the tenant reconnects, its backlog completes with no operator action.

Two tenants play a small mixed workload (workload.py) in two halves. Between the halves an admin
of tenant A's company disconnects the app in QuickBooks (the emulator revokes the grant: refresh
answers invalid_grant, API calls 401, and nobody is told). A's second half must then fail with
needs-reauthorization while B's completes; once A goes through the OAuth flow again (a fresh
connect link: no replay, no republish), every one of A's records must reach its company once.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from qbsync_common.contract import events
from qbsync_common.contract.registry import new_event
from qbsync_dev.census import take_census
from qbsync_dev.demo.connect import connect, set_up_tenant
from qbsync_dev.demo.environment import DemoEnvironment
from qbsync_dev.demo.player import configured_statuses
from qbsync_dev.demo.publish import publish
from qbsync_dev.demo.results import ResultFeed
from qbsync_dev.stack import StackSpec
from qbsync_dev.workload import Mix, Tally, TenantLoad, build_load, interleave, result_key

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MIX = Mix(clients=10, vendors=4, invoices=12, bills=4, payments=3)
REAUTH = "failed:needs-reauthorization"
# Generous: the machine is shared and has two cores; nothing here asserts on time.
HALF_TIMEOUT_S = 90.0
SOURCE = "e2e-revocation"


def _needs(event: BaseModel) -> str | None:
    """What the event refers to: a document its partner, a payment its invoice."""
    match event:
        case events.InvoiceStatusChanged():
            return event.partner_id
        case events.PaymentRecordedUpstream():
            return event.invoice_id
    return None


def _own_id(event: BaseModel) -> str:
    match event:
        case events.PartnerUpserted():
            return event.partner_id
        case events.InvoiceStatusChanged():
            return event.invoice_id
        case events.PaymentRecordedUpstream():
            return event.payment_id
    raise AssertionError(type(event).__name__)


def split(load: TenantLoad) -> tuple[TenantLoad, TenantLoad]:
    """Halves with every kind of record in both (so the second half has new clients and vendors
    too, and documents of partners that only the second half brings). An event goes first when
    it is in the first half of its kind and what it refers to went first; each half keeps the
    load's causal order."""
    kinds: dict[str, list[BaseModel]] = {}
    for event in load.events:
        kinds.setdefault(_kind(event), []).append(event)
    quota = {kind: (len(group) + 1) // 2 for kind, group in kinds.items()}
    first: list[BaseModel] = []
    first_ids: set[str] = set()
    taken = dict.fromkeys(kinds, 0)
    for event in load.events:
        kind, needs = _kind(event), _needs(event)
        if taken[kind] < quota[kind] and (needs is None or needs in first_ids):
            first.append(event)
            first_ids.add(_own_id(event))
            taken[kind] += 1
    second = [e for e in load.events if _own_id(e) not in first_ids]
    return dataclasses.replace(load, events=first), dataclasses.replace(load, events=second)


def _record_name(event: BaseModel) -> str:
    """How the census finds the event's record in the company (name, number, reference)."""
    match event:
        case events.PartnerUpserted():
            return event.name
        case events.InvoiceStatusChanged():
            return str(event.number)
        case events.PaymentRecordedUpstream():
            return str(event.reference)
    raise AssertionError(type(event).__name__)


def _kind(event: BaseModel) -> str:
    if isinstance(event, events.PartnerUpserted | events.InvoiceStatusChanged):
        return f"{type(event).__name__}:{event.kind}"
    return type(event).__name__


def _keys(loads: Sequence[TenantLoad]) -> dict[str, set[str]]:
    return {load.tenant_id: {result_key(e) for e in load.events} for load in loads}


async def _publish(env: DemoEnvironment, halves: Sequence[TenantLoad]) -> None:
    envelopes = [
        new_event(event, tenant_id=tenant_id, source=SOURCE)
        for tenant_id, event in interleave(halves)
    ]
    await publish(env.broker_url, envelopes)


async def _follow(
    feed: ResultFeed, tally: Tally, until: Callable[[], bool], timeout_s: float
) -> bool:
    """Feed results into the tally until `until()` holds; False when time ran out first."""
    deadline = time.monotonic() + timeout_s
    while not until():
        result = await feed.next(deadline - time.monotonic())
        if result is None:
            return until()
        envelope, data = result
        tally.take(envelope.tenantid, envelope.type, data, time.monotonic())
    return True


def _done(tally: Tally, keys: dict[str, set[str]]) -> Callable[[], bool]:
    return lambda: all((t, k) in tally.done_at for t, ks in keys.items() for k in ks)


def _answered(tally: Tally, tenant_id: str, keys: set[str]) -> Callable[[], bool]:
    return lambda: all((tenant_id, k) in tally.outcomes for k in keys)


async def _tenant(client: httpx.AsyncClient, env: DemoEnvironment, tenant_id: str) -> Any:
    answer = await client.get(
        f"{env.gateway_url}/v1/tenants/{tenant_id}", headers=env.operator_headers()
    )
    answer.raise_for_status()
    return answer.json()


async def _disconnect_in_quickbooks(
    client: httpx.AsyncClient, env: DemoEnvironment, realm_id: str
) -> None:
    """What a company admin does in QuickBooks (Apps → Disconnect): the grant dies silently."""
    answer = await client.post(
        f"{env.emulator_url}/_emulator/apps/{env.client_id}/disconnect",
        json={"realm_id": realm_id},
    )
    answer.raise_for_status()
    assert answer.json()["revoked"] >= 1, answer.text


def _realm() -> str:
    return str(9130350000000000 + uuid.uuid4().int % 10**9)


def _state(tally: Tally, tenant_id: str, keys: set[str]) -> str:
    outcomes = {k: tally.outcomes.get((tenant_id, k), "nothing yet") for k in sorted(keys)}
    return "\n".join(f"  {k}: {v}" for k, v in outcomes.items())


async def test_revoked_tenant_fails_with_reauth_others_continue_and_reconnect_completes(
    stack: StackSpec,
) -> None:
    env = DemoEnvironment.of(stack)
    run = uuid.uuid4().hex[:6]
    a, b = f"e2e-rev-a-{run}", f"e2e-rev-b-{run}"
    realms = {a: _realm(), b: _realm()}
    for tenant_id, realm in realms.items():
        await set_up_tenant(env, tenant_id, f"Tenant {tenant_id}", realm, f"Company {tenant_id}")

    async with httpx.AsyncClient(timeout=15) as client:
        loads: dict[str, TenantLoad] = {}
        for tenant_id, tag in ((a, f"a{run}"), (b, f"b{run}")):
            statuses = await configured_statuses(client, env, tenant_id)
            loads[tenant_id] = build_load(tenant_id, tag, MIX, *statuses)
        halves = {t: split(load) for t, load in loads.items()}
        firsts = [halves[t][0] for t in loads]
        seconds = [halves[t][1] for t in loads]
        first_keys, second_keys = _keys(firsts), _keys(seconds)
        # The second half brings every kind of record: new clients and vendors, invoices and
        # bills (some of partners only it brings) and payments.
        assert {_kind(e) for e in halves[a][1].events} == {_kind(e) for e in loads[a].events}
        tally = Tally.of(list(loads.values()))

        async with ResultFeed(env.broker_url) as feed:
            # 1. Both tenants connected: the first half completes for both.
            await _publish(env, firsts)
            done = await _follow(feed, tally, _done(tally, first_keys), HALF_TIMEOUT_S)
            assert done, "first half not done:\n" + "\n".join(tally.missing())
            assert not tally.failures(a) and not tally.failures(b)

            # 2. A's admin disconnects the app in QuickBooks; both publish their second half.
            await _disconnect_in_quickbooks(client, env, realms[a])
            await _publish(env, seconds)
            # A payment of an invoice that did not sync waits for it (no result yet): only
            # partners and documents answer at once.
            answering = {k for k in second_keys[a] if not k.startswith("payment")}
            settled = await _follow(
                feed,
                tally,
                lambda: tally.complete(b) and _answered(tally, a, answering)(),
                HALF_TIMEOUT_S,
            )
            assert settled, f"B missing: {tally.missing(b)}\nA's second half:\n" + _state(
                tally, a, second_keys[a]
            )
            assert not tally.failures(b), tally.failures(b)
            # Every partner and document of A's second half failed for want of the connection,
            # also those that waited for a partner (invoice-sync passes the partner's reason on).
            failed_a = tally.failures(a)
            wrong = {k: tally.outcomes.get((a, k)) for k in answering if failed_a.get(k) != REAUTH}
            assert not wrong, f"{wrong}\n" + _state(tally, a, second_keys[a])
            # A payment of a failed invoice waits for it, or fails for the same reason.
            assert set(failed_a.values()) == {REAUTH}, failed_a
            gateway_a, gateway_b = await _tenant(client, env, a), await _tenant(client, env, b)
            assert gateway_a["state"] == "needs_reauthorization", gateway_a
            assert gateway_b["state"] == "connected", gateway_b
            before = await take_census(client, env.emulator_url, realms[a], loads[a])
            # Nothing of A's second half reached its company while the grant was revoked (and
            # the first half is there, once).
            missing = {name for names in before.missing.values() for name in names}
            assert missing == {_record_name(e) for e in halves[a][1].events}, before.describe()
            assert not any(before.duplicated.values()), before.describe()

            # 3. A's admin reconnects through a fresh connect link; nobody replays anything.
            await connect(client, env, a, realms[a])
            complete = await _follow(
                feed, tally, lambda: tally.complete(a) and tally.complete(b), HALF_TIMEOUT_S
            )
            assert complete, "A's backlog did not complete:\n" + "\n".join(tally.missing(a))
        assert (await _tenant(client, env, a))["state"] == "connected"
        for tenant_id, realm in realms.items():
            census = await take_census(client, env.emulator_url, realm, loads[tenant_id])
            assert census.exact, f"{tenant_id}: {census.describe()}"
