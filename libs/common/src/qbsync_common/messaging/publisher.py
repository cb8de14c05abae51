"""Confirmed, mandatory, persistent publishing: a publish either lands in a queue or raises."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange
from aio_pika.exceptions import DeliveryError, PublishError

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


class PublishFailed(Exception):
    """The broker did not take the message (unroutable, nacked, timed out or channel gone)."""


class Publisher:
    """Publishes on one confirm-mode channel; the caller owns the channel's lifetime."""

    def __init__(self, channel: AbstractChannel, *, timeout: float = 10.0) -> None:
        self._channel = channel
        self._timeout = timeout
        self._exchanges: dict[str, AbstractExchange] = {}

    async def _exchange(self, name: str) -> AbstractExchange:
        if name == "":
            return self._channel.default_exchange
        exchange = self._exchanges.get(name)
        if exchange is None:
            exchange = await self._channel.get_exchange(name, ensure=False)
            self._exchanges[name] = exchange
        return exchange

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, Any] | None = None,
        content_type: str = CLOUDEVENTS_CONTENT_TYPE,
        expiration_ms: int | None = None,
    ) -> None:
        message = aio_pika.Message(
            body,
            message_id=message_id,
            headers=dict(headers or {}),
            content_type=content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=datetime.now(UTC),
            expiration=expiration_ms / 1000 if expiration_ms is not None else None,
        )
        target = await self._exchange(exchange)
        try:
            # mandatory + on_return_raises (set on the channel): an unroutable message is an error,
            # not a silently confirmed loss (RELIABILITY §1.7, B3).
            await target.publish(message, routing_key, mandatory=True, timeout=self._timeout)
        except (DeliveryError, PublishError) as exc:
            raise PublishFailed(f"broker refused {routing_key!r} on {exchange!r}: {exc}") from exc
        except TimeoutError as exc:
            raise PublishFailed(f"no confirm for {routing_key!r} within {self._timeout}s") from exc
        except Exception as exc:  # channel closed mid-publish: outcome unknown, caller retries
            raise PublishFailed(f"publish of {routing_key!r} failed: {exc!r}") from exc


async def open_publisher_channel(connection: aio_pika.abc.AbstractConnection) -> AbstractChannel:
    return await connection.channel(publisher_confirms=True, on_return_raises=True)
