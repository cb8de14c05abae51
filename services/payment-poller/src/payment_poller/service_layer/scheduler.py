"""The background job that keeps claiming due tenants and polling them."""

from __future__ import annotations

import asyncio
import logging

from payment_poller.service_layer.poll import Poller
from qbsync_common.runtime import BackgroundJob

log = logging.getLogger(__name__)


def scheduler_job(poller: Poller, tick_s: float, wake: asyncio.Event) -> BackgroundJob:
    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            claimed = 0
            try:
                claimed = await poller.run_due()
            except Exception as exc:  # database blip: try again next tick, never die
                log.warning("scheduler round failed: %r", exc)
            if claimed >= poller.settings.max_concurrent:
                continue  # more may be due right now
            wake.clear()
            waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
            await asyncio.wait(waiters, timeout=tick_s, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
            # A webhook wakes us before its debounce ends; wait that out on the next tick.

    return run
