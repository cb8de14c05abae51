"""Operations: webhook debounce, the failure path of a poll, the operator API, QBO cost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from docs import synced
from prometheus_client import CollectorRegistry

from conftest import World
from payment_poller.bootstrap import Assembled
from qbo_client import Payment, Priority, QBOClient, UnlimitedRateLimiter
from qbo_client.models import Ref
from qbo_client.models.base import LinkedTxn
from qbo_client.models.transactions import Line
from qbo_client.session import TenantSession
from qbsync_common.contract import events

pytestmark = pytest.mark.integration

RECEIVED = "qbsync.payment.received.v1"
CHANGED = "qbsync.payment.changed.v1"


async def stats(world: World) -> dict[tuple[str, str], int]:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{world.emulator_url}/_emulator/companies/{world.realm_id}/stats")
    answer.raise_for_status()
    counts: dict[tuple[str, str], int] = {}
    for c in answer.json()["calls"]:
        key = (c["method"], c["endpoint"])
        counts[key] = counts.get(key, 0) + c["count"]
    return counts


async def faults(world: World, **settings: Any) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.put(
            f"{world.emulator_url}/_emulator/companies/{world.realm_id}/faults", json=settings
        )
    answer.raise_for_status()


def webhook(world: World, payment_id: str) -> events.QboEntitiesChanged:
    return events.QboEntitiesChanged(
        realm_id=world.realm_id,
        entities=[
            events.EntityChange(
                name="Payment", id=payment_id, operation="Create", last_updated=datetime.now(UTC)
            )
        ],
    )


async def test_webhooks_within_the_debounce_window_cause_one_poll(world: World) -> None:
    # A long debounce: every webhook below lands inside the first one's window.
    p = await world.poller(webhook_debounce_s=60, default_poll_interval_s=3600)
    invoice = await world.books.invoice("100.00")
    await synced(world, p, invoice)
    assert await p.poller.run_due() == 1  # the new tenant's first poll
    for _ in range(4):
        paid = await world.books.user_pays(invoice_id=invoice.Id, amount="10.00")
        await world.deliver(p, webhook(world, paid["Payment"]["Id"]))
    [row] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    assert row["pending_trigger"] == "webhook"
    # Later webhooks never pushed the poll back past the first one's debounce.
    assert row["next_poll_at"] <= datetime.now(UTC) + timedelta(seconds=60)
    assert await p.poller.run_due() == 0  # nothing due before the debounce ends

    assert await world.poll_now(p) == 1  # the debounce has passed
    assert await p.poller.run_due() == 0
    runs = await world.runs()
    assert [r["trigger"] for r in runs] == ["schedule", "webhook"]
    assert runs[-1]["events_published"] == 4  # one poll saw all four payments
    assert len(await world.events(RECEIVED)) == 4


async def payment_methods(world: World) -> dict[str, dict[str, Any]]:
    """The realm's PaymentMethod records by name, read through the emulator's admin API."""
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{world.emulator_url}/_emulator/companies/{world.realm_id}/records/PaymentMethod"
        )
    answer.raise_for_status()
    return {m["Name"]: m for m in answer.json()["records"]}


async def deactivate(world: World, method: dict[str, Any]) -> None:
    """A QuickBooks user retires a payment method; payments already made still cite it."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{world.emulator_url}/v3/company/{world.realm_id}/paymentmethod",
            headers={"Authorization": f"Bearer {world.books.token}", "Accept": "application/json"},
            json={
                "Id": method["Id"],
                "SyncToken": method["SyncToken"],
                "sparse": True,
                "Active": False,
            },
        )
    answer.raise_for_status()
    assert answer.json()["PaymentMethod"]["Active"] is False


async def test_paid_on_method_and_reference_on_received_and_changed(world: World) -> None:
    p = await world.poller()
    invoice = await world.books.invoice("100.00")
    await synced(world, p, invoice)
    seeded = await payment_methods(world)
    pay = await world.books.s.create(
        Payment(
            CustomerRef=Ref(value=await world.books.customer()),
            TotalAmt=Decimal("60.00"),
            TxnDate=date(2026, 3, 20),
            PaymentMethodRef=Ref(value=seeded["Check"]["Id"], name="Check"),
            PaymentRefNum="CHK-77",
            Line=[
                Line(
                    Amount=Decimal("60.00"),
                    LinkedTxn=[LinkedTxn(TxnId=invoice.Id or "", TxnType="Invoice")],
                )
            ],
        ),
        request_id=f"pay-{invoice.Id}",
    )
    await world.poll_now(p)
    [received] = await world.events(RECEIVED)
    assert (received["paid_on"], received["method"], received["reference"]) == (
        "2026-03-20",
        "Check",
        "CHK-77",
    )

    # Same amount, other date, method and reference: still a change worth telling.
    await world.books.s.update(
        Payment.model_validate(
            {
                **pay.to_payload(),
                "TxnDate": "2026-03-21",
                "PaymentMethodRef": {"value": seeded["Cash"]["Id"], "name": "Cash"},
                "PaymentRefNum": "R-78",
            }
        ),
        request_id=f"edit-{pay.Id}",
    )
    await world.poll_now(p)
    [changed] = await world.events(CHANGED)
    assert (changed["paid_on"], changed["method"], changed["reference"]) == (
        "2026-03-21",
        "Cash",
        "R-78",
    )
    assert Decimal(changed["amount_applied"]) == Decimal("60.00")


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"error_rate": 1.0, "error_status": 503}, "ServiceError"),
        ({"timeout_rate": 1.0, "timeout_seconds": 3}, "Timeout"),
    ],
)
async def test_a_failed_poll_is_recorded_retried_later_and_keeps_the_cursor(
    world: World, fault: dict[str, Any], expected: str
) -> None:
    p = await world.poller(poll_retry_s=600)
    # A client timeout shorter than the emulator's injected delay makes the call time out. Only
    # the faulty poll uses it: on a busy machine an ordinary poll may take longer than 0.5 s.
    client = QBOClient(
        world.tokens, limiter=UnlimitedRateLimiter(), registry=CollectorRegistry(), timeout=0.5
    )
    try:
        await _fail_then_recover(
            world,
            p,
            fault,
            expected,
            lambda tenant: client.for_tenant(tenant, priority=Priority.BACKGROUND),
        )
    finally:
        await client.aclose()


async def _fail_then_recover(
    world: World,
    p: Assembled,
    fault: dict[str, Any],
    expected: str,
    qbo_during_fault: Callable[[str], TenantSession],
) -> None:
    invoice = await world.books.invoice("100.00")
    await synced(world, p, invoice)
    assert await p.poller.run_due() == 1
    assert (await world.runs())[-1]["outcome"] == "ok"  # the first poll learns realm and cursor
    [before] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    await world.books.user_pays(invoice_id=invoice.Id, amount="10.00")

    await faults(world, **fault)
    ordinary, p.poller.qbo_for = p.poller.qbo_for, qbo_during_fault
    try:
        assert await world.poll_now(p) == 1
    finally:
        p.poller.qbo_for = ordinary
        await faults(world)
    run = (await world.runs())[-1]
    assert (run["outcome"], run["errors"], run["events_published"]) == ("error", 1, 0)
    assert expected in run["error"]
    assert run["finished_at"] is not None
    [after] = await world.sql("SELECT * FROM {s}.poll_schedule WHERE tenant_id = :t")
    assert after["cursor"] == before["cursor"]  # nothing was read, so nothing is skipped
    assert after["last_success_at"] == before["last_success_at"]
    assert expected in after["last_error"]
    assert after["claim_token"] is None
    assert after["state"] == "connected"
    assert after["next_poll_at"] >= run["finished_at"] + timedelta(seconds=590)
    assert await world.outbox() == []

    transport = httpx.ASGITransport(app=p.built.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://poller") as http:
        auth = {"Authorization": "Bearer op-key-1"}
        assert (await http.get("/v1/poller/tenants")).status_code == 401
        listed = (await http.get("/v1/poller/tenants?state=connected", headers=auth)).json()
        [mine] = [t for t in listed if t["tenant_id"] == world.tenant]
        assert expected in mine["last_error"]
        assert mine["realm_id"] == world.realm_id
        assert mine["claimed_by"] is None
        elsewhere = (await http.get("/v1/poller/tenants?state=disconnected", headers=auth)).json()
        assert world.tenant not in {t["tenant_id"] for t in elsewhere}
        assert (await http.get("/v1/poller/tenants?limit=0", headers=auth)).status_code == 422

    # The retry (here: at once) reads the window the failed poll could not.
    assert await world.poll_now(p) == 1
    assert (await world.runs())[-1]["outcome"] == "ok"
    assert len(await world.events(RECEIVED)) == 1


async def test_an_idle_poll_costs_one_qbo_call(world: World) -> None:
    p = await world.poller()
    invoice = await world.books.invoice("100.00")
    await synced(world, p, invoice)
    await world.books.user_pays(invoice_id=invoice.Id, amount="10.00")
    assert await world.poll_now(p) == 1  # a busy poll: learns the tenant, reads a payment
    before = await stats(world)
    assert await world.poll_now(p) == 1
    assert await world.poll_now(p) == 1
    after = await stats(world)
    spent = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert {k: n for k, n in spent.items() if n} == {("GET", "cdc"): 2}


async def test_a_method_ref_without_a_name_is_looked_up_once_per_tenant(world: World) -> None:
    p = await world.poller()
    invoice = await world.books.invoice("100.00")
    await synced(world, p, invoice)
    customer = await world.books.customer()
    seeded = await payment_methods(world)
    visa, check = seeded["Visa"]["Id"], seeded["Check"]["Id"]

    async def pay(amount: str, method: Ref) -> Payment:
        return await world.books.s.create(
            Payment(
                CustomerRef=Ref(value=customer),
                TotalAmt=Decimal(amount),
                PaymentMethodRef=method,
                Line=[
                    Line(
                        Amount=Decimal(amount),
                        LinkedTxn=[LinkedTxn(TxnId=invoice.Id or "", TxnType="Invoice")],
                    )
                ],
            ),
            request_id=f"pay-{amount}-{invoice.Id}",
        )

    # QBO's usual form: the ref comes back with its id only, whatever name the client sent.
    made = await pay("10.00", Ref(value=visa))
    assert made.PaymentMethodRef is not None and made.PaymentMethodRef.name is None
    await pay("20.00", Ref(value=visa))
    await pay("30.00", Ref(value=check, name="Check"))
    # Retired after the payment was made: the lookup must still find it among inactive methods.
    await deactivate(world, seeded["Check"])

    async def calls_of(poll: Awaitable[int]) -> dict[tuple[str, str], int]:
        """The QBO calls one step made, by method and endpoint."""
        before = await stats(world)
        await poll
        after = await stats(world)
        return {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}

    # The first poll reads the three payments and names both nameless ids in one query.
    assert await calls_of(world.poll_now(p)) == {("GET", "cdc"): 1, ("POST", "query"): 1}
    assert await calls_of(world.poll_now(p)) == {("GET", "cdc"): 1}  # idle
    await pay("5.00", Ref(value=visa))
    # Visa is known by now: no second lookup for the tenant.
    assert await calls_of(world.poll_now(p)) == {("GET", "cdc"): 1}
    assert await calls_of(world.poll_now(p)) == {("GET", "cdc"): 1}  # idle

    received = {e["qbo_payment_id"]: e for e in await world.events(RECEIVED)}
    methods = sorted((Decimal(e["amount_applied"]), e["method"]) for e in received.values())
    assert methods == [
        (Decimal("5.00"), "Visa"),
        (Decimal("10.00"), "Visa"),
        (Decimal("20.00"), "Visa"),
        (Decimal("30.00"), "Check"),
    ]
