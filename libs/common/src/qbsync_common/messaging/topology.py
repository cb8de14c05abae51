"""Exchanges and queues, declared idempotently at start by every service (RELIABILITY §9)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

EVENTS_EXCHANGE = "qbsync.events"
"""Topic exchange: upstream domain events and qbsync's internal commands and events."""
RESULTS_EXCHANGE = "qbsync.results"
"""Topic exchange: what qbsync tells upstream (sync keys, failures, skips, payments)."""
PARKING_EXCHANGE = "qbsync.parking"
"""Direct exchange: routing key = the consumer queue a parked message came from."""
UPSTREAM_RESULTS_QUEUE = "qbsync.results.upstream"
"""Default durable home for results, so a result is never unroutable while upstream is not bound yet."""

# Our broker is 3.10: quorum queues have no default delivery limit there, so set it explicitly.
DELIVERY_LIMIT = 5


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer queue: what it is bound to and how long its retry tiers wait."""

    queue: str
    bindings: Sequence[tuple[str, str]]
    retry_delays_ms: Sequence[int] = field(default=(1_000, 5_000, 30_000, 60_000, 300_000))

    @property
    def parking_queue(self) -> str:
        return f"{self.queue}.parking"

    def retry_queue(self, attempt: int) -> str:
        """Retry tier for the n-th retry (1-based): growing delays, the last tier repeats."""
        return f"{self.queue}.retry.{self.retry_delay_ms(attempt)}"

    def retry_delay_ms(self, attempt: int) -> int:
        return self.retry_delays_ms[min(attempt, len(self.retry_delays_ms)) - 1]


def _quorum_args(**extra: Any) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        # At-least-once dead-lettering needs reject-publish; the default is at-most-once (RMQ-qq).
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        **extra,
    }


@dataclass(frozen=True)
class DeclaredExchanges:
    events: AbstractExchange
    results: AbstractExchange
    parking: AbstractExchange


async def declare_exchanges(channel: AbstractChannel) -> DeclaredExchanges:
    events = await channel.declare_exchange(
        EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
    )
    results = await channel.declare_exchange(
        RESULTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
    )
    parking = await channel.declare_exchange(
        PARKING_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True
    )
    upstream = await channel.declare_queue(
        UPSTREAM_RESULTS_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await upstream.bind(results, "#")
    return DeclaredExchanges(events=events, results=results, parking=parking)


async def declare_consumer(channel: AbstractChannel, spec: ConsumerSpec) -> AbstractQueue:
    """Work queue + its parking lot + one delay queue per retry tier. Safe to run on every start."""
    exchanges = await declare_exchanges(channel)
    parking = await channel.declare_queue(
        spec.parking_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await parking.bind(exchanges.parking, spec.queue)
    queue = await channel.declare_queue(
        spec.queue,
        durable=True,
        arguments=_quorum_args(
            **{
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": PARKING_EXCHANGE,
                "x-dead-letter-routing-key": spec.queue,
            }
        ),
    )
    for exchange_name, routing_key in spec.bindings:
        await queue.bind(exchange_name, routing_key)
    for delay in sorted(set(spec.retry_delays_ms)):
        # One queue per tier: per-message TTLs only expire at the head, so tiers are never mixed.
        await channel.declare_queue(
            f"{spec.queue}.retry.{delay}",
            durable=True,
            arguments=_quorum_args(
                **{
                    "x-message-ttl": delay,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": spec.queue,
                }
            ),
        )
    return queue
