"""Tenant fairness on the real broker and database: a tenant's flood is held aside in order and
released as it finishes, while another tenant's events go straight through."""

from __future__ import annotations

import asyncio
import json

import plumbing_app
import pytest
from harness import Harness, wait_until

pytestmark = pytest.mark.integration

NOISY, QUIET = 16, 3


async def flood_then_trickle(harness: Harness, cap: int) -> tuple[int, dict[str, int], list[str]]:
    """A noisy tenant's slow events, then a quiet tenant's: how many noisy events were done
    when the quiet ones were, every event's effect count at the end, and the noisy event ids
    in the order they were published."""
    runtime = plumbing_app.build(
        harness.settings(prefetch=4, tenant_max_in_flight=cap), harness.schema, harness.queue
    )
    task = asyncio.create_task(runtime.run())
    try:
        await wait_until(runtime.broker_ready, 15, "consumer ready")
        noisy = [
            plumbing_app.partner_event("noisy", f"n{i}", "slow", version=i + 1)
            for i in range(NOISY)
        ]
        quiet = [plumbing_app.partner_event("quiet", f"q{i}", f"ok-{i}") for i in range(QUIET)]
        for body in noisy + quiet:
            await harness.publish(body, message_id=json.loads(body)["id"])

        async def by_tenant() -> dict[str, int]:
            rows = await harness.fetch(
                "SELECT tenant_id, count(*) AS n FROM {s}.effects GROUP BY tenant_id"
            )
            return {r["tenant_id"]: r["n"] for r in rows}

        async def quiet_done() -> bool:
            return (await by_tenant()).get("quiet") == QUIET

        await wait_until(quiet_done, 30, "the quiet tenant's events")
        noisy_done_then = (await by_tenant()).get("noisy", 0)
        backlog = runtime.metrics.held.labels(runtime.metrics.service, harness.queue)

        async def backlog_seen() -> bool:
            return bool(backlog._value.get() > 0)

        if cap:  # the held backlog shows on the gauge while the flood waits
            await wait_until(backlog_seen, 5, "the held backlog on its gauge")

        async def all_done() -> bool:
            return (await by_tenant()).get("noisy") == NOISY

        await wait_until(all_done, 60, "the noisy tenant's flood")
        effects = await harness.effects_by_event()
        metrics = runtime.metrics
        held = metrics.events_consumed.labels(
            metrics.service, harness.queue, plumbing_app.PARTNER_UPSERTED, "held"
        )._value.get()
        released = metrics.released.labels(metrics.service, harness.queue)._value.get()
        # Everything held came back (a release may repeat after a failed publish, never less).
        assert released >= held
        assert (held > 0) == (cap > 0)

        async def backlog_gone() -> bool:
            return bool(backlog._value.get() == 0)

        await wait_until(backlog_gone, 5, "the gauge back at zero")
    finally:
        runtime.request_stop()
        await asyncio.wait_for(task, 30)
    return noisy_done_then, effects, [json.loads(b)["id"] for b in noisy]


async def test_a_flood_is_held_in_order_and_the_quiet_tenant_overtakes_it(
    harness: Harness,
) -> None:
    noisy_done, effects, published = await flood_then_trickle(harness, cap=2)
    # Two noisy events in hand at a time, 0.5 s each: the quiet tenant was through long
    # before the flood (without fairness it waits behind it: the control test below).
    assert noisy_done <= NOISY // 2
    assert len(effects) == NOISY + QUIET and set(effects.values()) == {1}
    # Held, then released in arrival order: the noisy partners' effects follow their versions.
    # Two run at a time, so neighbours may swap, but nothing moves further than that.
    rows = await harness.fetch(
        "SELECT event_id FROM {s}.effects WHERE tenant_id = 'noisy' ORDER BY id"
    )
    done_order = [r["event_id"] for r in rows]
    assert sorted(done_order) == sorted(published)
    assert all(abs(done_order.index(e) - i) <= 2 for i, e in enumerate(published))
    assert await harness.fetch("SELECT * FROM {s}.held") == []
    [row] = await harness.fetch("SELECT count(*) AS n FROM {s}.inbox")
    assert row["n"] == NOISY + QUIET


async def test_without_a_cap_the_quiet_tenant_waits_behind_the_flood(harness: Harness) -> None:
    noisy_done, effects, _ = await flood_then_trickle(harness, cap=0)
    assert noisy_done >= NOISY - 4  # only the last prefetch-full was still ahead of it
    assert len(effects) == NOISY + QUIET and set(effects.values()) == {1}


async def test_when_holding_fails_the_surplus_goes_through_the_retry_tiers(
    harness: Harness,
) -> None:
    # The held table is gone (think: a failed migration): holding fails, and the events it
    # would have held come back through the retry tiers, which are never held. Nothing is lost.
    await harness.fetch("ALTER TABLE {s}.held RENAME TO held_gone")
    runtime = plumbing_app.build(
        harness.settings(prefetch=4, tenant_max_in_flight=1), harness.schema, harness.queue
    )
    task = asyncio.create_task(runtime.run())
    try:
        await wait_until(runtime.broker_ready, 15, "consumer ready")
        ids = await harness.publish_partners(["slow"] * 5)

        async def done() -> bool:
            return set((await harness.effects_by_event()).items()) == {(i, 1) for i in ids}

        await wait_until(done, 30, "every event once, through the retry tiers")
        metrics = runtime.metrics
        retried = metrics.retries.labels(
            metrics.service, harness.queue, plumbing_app.PARTNER_UPSERTED
        )._value.get()
        assert retried >= 1
        assert await harness.parked() == []
    finally:
        runtime.request_stop()
        await asyncio.wait_for(task, 30)
