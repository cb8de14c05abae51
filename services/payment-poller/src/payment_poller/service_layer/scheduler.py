"""The background job that keeps claiming due tenants and polling them, a bounded number at once."""

from __future__ import annotations

import asyncio
import logging

from payment_poller.adapters.repository import Claim
from payment_poller.service_layer.poll import Poller
from qbsync_common.runtime import BackgroundJob

log = logging.getLogger(__name__)


def scheduler_job(poller: Poller, tick_s: float, wake: asyncio.Event) -> BackgroundJob:
    async def run(stop: asyncio.Event) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        freed = asyncio.Event()

        def done(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            freed.set()

        while not stop.is_set():
            free = poller.settings.max_concurrent - len(in_flight)
            claims = []
            try:
                claims = await poller.claim(free)
            except Exception as exc:  # database blip: try again next tick, never die
                log.warning("scheduler round failed: %r", exc)
            for claim in claims:
                # A slow tenant holds one slot, never the whole round.
                task = asyncio.create_task(_poll(poller, claim))
                in_flight.add(task)
                task.add_done_callback(done)
            if claims and len(claims) == free:
                # Busy: more may be due; go on as soon as a slot frees.
                freed.clear()
                if len(in_flight) >= poller.settings.max_concurrent:
                    await _first(stop, freed, within=tick_s)
                continue
            wake.clear()
            # A webhook wakes us before its debounce ends; the next tick claims it when due.
            await _first(stop, wake, within=tick_s)
        if in_flight:
            # Unfinished polls are safe to abandon (their claims lapse), but let them try.
            await asyncio.wait(in_flight, timeout=10)
            for task in in_flight:
                task.cancel()

    return run


async def _poll(poller: Poller, claim: Claim) -> None:
    try:
        await poller.poll(claim)
    except Exception as exc:  # e.g. the database went away; the claim lapses and is retried
        log.warning("poll of %s aborted: %r", claim.tenant_id, exc)


async def _first(stop: asyncio.Event, other: asyncio.Event, *, within: float) -> None:
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(other.wait())]
    await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    for w in waiters:
        w.cancel()
