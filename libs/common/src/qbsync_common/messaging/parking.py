"""Operator tools for a consumer's parking lot: look at what was parked and why, and replay it."""

from __future__ import annotations

from typing import Any

import aio_pika

from qbsync_common.messaging.consumer import (
    ATTEMPT_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    PARK_REASON_HEADER,
)
from qbsync_common.messaging.publisher import Publisher, open_publisher_channel


async def list_parked(broker_url: str, queue: str, limit: int) -> list[dict[str, Any]]:
    """Peek: messages are fetched and returned to the parking queue untouched."""
    connection = await aio_pika.connect(broker_url)
    items: list[dict[str, Any]] = []
    async with connection:
        channel = await connection.channel()
        parking = await channel.get_queue(f"{queue}.parking", ensure=True)
        held = []
        for _ in range(limit):
            message = await parking.get(no_ack=False, fail=False)
            if message is None:
                break
            held.append(message)
            headers = message.headers or {}
            items.append(
                {
                    "message_id": message.message_id,
                    "reason": str(headers.get(PARK_REASON_HEADER, _death_reason(headers))),
                    "routing_key": str(headers.get(ORIGINAL_ROUTING_KEY_HEADER, "")),
                    "body": message.body.decode("utf-8", "replace")[:2000],
                }
            )
        for message in held:
            await message.nack(requeue=True)
    return items


async def replay_parked(broker_url: str, queue: str, limit: int) -> int:
    """Send parked messages back to their consumer queue with a fresh attempt count."""
    connection = await aio_pika.connect(broker_url)
    moved = 0
    async with connection:
        channel = await connection.channel()
        publisher = Publisher(await open_publisher_channel(connection))
        parking = await channel.get_queue(f"{queue}.parking", ensure=True)
        for _ in range(limit):
            message = await parking.get(no_ack=False, fail=False)
            if message is None:
                break
            headers = {
                k: v
                for k, v in (message.headers or {}).items()
                if k not in (PARK_REASON_HEADER, ATTEMPT_HEADER, "x-death")
            }
            await publisher.publish(
                "",
                queue,
                message.body,
                message_id=message.message_id or "",
                headers=headers,
                content_type=message.content_type or "application/octet-stream",
            )
            await message.ack()
            moved += 1
    return moved


def _death_reason(headers: dict[str, Any]) -> str:
    """Parked by the broker itself (delivery limit): the reason is in x-death."""
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return f"broker: {deaths[0].get('reason', 'unknown')}"
    return "unknown"
