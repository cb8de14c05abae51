"""The broker configuration qbsync ships (deploy/rabbitmq/qbsync.conf), on a node of the test's
own booted with it: a body over the contract's limit is refused at publish, so it never sits in a
queue ahead of good events (RELIABILITY §8 B1), and anything the contract accepts still goes."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import pytest

from qbsync_common.contract.registry import MAX_EVENT_BYTES
from qbsync_common.messaging.publisher import Publisher, PublishFailed, open_publisher_channel
from qbsync_dev.private_servers import PrivateRabbit

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_an_oversized_body_is_refused_at_publish_and_the_broker_keeps_serving(
    private_rabbit: PrivateRabbit,
) -> None:
    queue = f"config-{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(private_rabbit.url)
    async with connection:
        setup = await connection.channel()
        await setup.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})

        # The publisher learns at once, with the broker's reason; nothing was queued.
        publisher = Publisher(await open_publisher_channel(connection), timeout=10)
        with pytest.raises(PublishFailed, match="max size"):
            await publisher.publish("", queue, b"x" * (10 * 1024 * 1024), message_id="huge")

        # The largest body the contract accepts still goes, on a fresh channel (the refusal
        # closed the old one, as AMQP does).
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(b"y" * MAX_EVENT_BYTES, message_id="largest"), queue
        )
        declared = await setup.declare_queue(queue, passive=True)
        assert declared.declaration_result.message_count == 1
        message = await (await connection.channel()).get_queue(queue)
        got = await asyncio.wait_for(message.get(no_ack=True), 10)
        assert got.message_id == "largest"
        assert len(got.body) == MAX_EVENT_BYTES
