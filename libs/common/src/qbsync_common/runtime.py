"""A service process: HTTP ops server, outbox relay, and consumers kept alive across broker restarts.

We supervise a plain (non-robust) aio-pika connection ourselves instead of `connect_robust`: after any
connection loss everything (channels, topology, consumers) is rebuilt from scratch, which avoids the
"connected but zero consumers" class of bugs (aio-pika #231, RELIABILITY §1.7) by construction.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from qbsync_common.messaging.consumer import EventConsumer
from qbsync_common.messaging.publisher import Publisher, open_publisher_channel
from qbsync_common.messaging.relay import OutboxRelay, PublishFn
from qbsync_common.messaging.topology import declare_exchanges
from qbsync_common.metrics import ServiceMetrics
from qbsync_common.settings import ServiceSettings
from qbsync_common.waiting import wait_for_event

log = logging.getLogger(__name__)

BackgroundJob = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class BrokerLink:
    """The current connection and its publisher; None while disconnected."""

    connection: AbstractConnection | None = None
    publisher: Publisher | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    def publish_fn(self) -> PublishFn | None:
        return self.publisher.publish if self.publisher is not None else None


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        engine: AsyncEngine,
        metrics: ServiceMetrics,
        consumers: Sequence[EventConsumer] = (),
        relay: OutboxRelay | None = None,
        jobs: Sequence[BackgroundJob] = (),
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.metrics = metrics
        self.consumers = list(consumers)
        self.relay = relay
        self.jobs = list(jobs)
        self.link = BrokerLink()
        self.stop_event = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()

    # -- readiness -------------------------------------------------------------------------------
    async def broker_ready(self) -> bool:
        conn = self.link.connection
        return conn is not None and not conn.is_closed and all(c.consuming for c in self.consumers)

    async def database_ready(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    # -- lifecycle -------------------------------------------------------------------------------
    def request_stop(self) -> None:
        self.stop_event.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT (or `request_stop`), then shut down gracefully."""
        tasks = [asyncio.create_task(self._supervise_broker(), name="broker")]
        if self.relay is not None:
            tasks.append(
                asyncio.create_task(
                    self.relay.run(self.link.publish_fn, self.stop_event), name="relay"
                )
            )
        tasks += [asyncio.create_task(job(self.stop_event)) for job in self.jobs]
        await self.stop_event.wait()
        log.info(
            "stopping: draining %d in-flight deliveries", sum(c.in_flight for c in self.consumers)
        )
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.engine.dispose()
        log.info("stopped")

    async def _supervise_broker(self) -> None:
        backoff = 0.5
        while not self.stop_event.is_set():
            try:
                lost = await self._connect()
                backoff = 0.5
            except Exception as exc:
                log.warning("broker unavailable (%s); retrying in %.1fs", exc, backoff)
                await wait_for_event(self.stop_event, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            stopped: asyncio.Future[Any] = asyncio.ensure_future(self.stop_event.wait())
            await asyncio.wait([lost, stopped], return_when=asyncio.FIRST_COMPLETED)
            if self.stop_event.is_set():
                await self._shutdown_consumers()
                stopped.cancel()
                return
            stopped.cancel()
            log.warning("broker connection lost; reconnecting")
            self._forget_connection()

    async def _connect(self) -> asyncio.Future[None]:
        connection = await aio_pika.connect(
            self.settings.broker_url.get_secret_value(),
            heartbeat=10,
            client_properties={"connection_name": self.settings.service_name},
        )
        lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_close(*_: object) -> None:
            if not lost.done():
                lost.set_result(None)

        connection.close_callbacks.add(on_close)
        try:
            control = await connection.channel()
            await declare_exchanges(control)
            publisher = Publisher(await open_publisher_channel(connection))
            for consumer in self.consumers:
                # A channel per consumer: a channel-level error in one queue does not stop the others.
                channel = await connection.channel(publisher_confirms=False)
                channel.close_callbacks.add(on_close)
                await consumer.start(channel, publisher)
        except BaseException:
            await connection.close()
            raise
        self.link.connection = connection
        self.link.publisher = publisher
        self.link.connected.set()
        if self.relay is not None:
            self.relay.wake()
        log.info("connected to broker; consuming %s", [c.name for c in self.consumers])
        return lost

    def _forget_connection(self) -> None:
        for consumer in self.consumers:
            consumer.detach()
        connection = self.link.connection
        self.link.connection = None
        self.link.publisher = None
        self.link.connected.clear()
        if connection is not None and not connection.is_closed:
            # Close in the background (a dead peer can take a while); keep a reference until done.
            task = asyncio.create_task(connection.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _shutdown_consumers(self) -> None:
        for consumer in self.consumers:
            await consumer.stop_consuming()
        grace = self.settings.shutdown_grace_s
        await asyncio.gather(*(c.drain(grace) for c in self.consumers))
        connection = self.link.connection
        self.link.connection = None
        self.link.publisher = None
        if connection is not None:
            # Closing the channels requeues anything still unacknowledged.
            await connection.close()
