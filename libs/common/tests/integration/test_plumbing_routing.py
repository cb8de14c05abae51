"""A CloudEvent published the way upstream apps publish it — to the qbsync.events topic exchange,
routed by its type — reaches the handler through the bindings the consumer declares, and only the
types it binds do. On a vhost of its own: the services' queues bind the same routing keys."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import aio_pika
import plumbing_app
import pytest
from harness import Harness, wait_until

from qbsync_common.contract import events
from qbsync_common.contract.registry import encode, new_event
from qbsync_common.messaging.topology import EVENTS_EXCHANGE
from qbsync_common.runtime import ServiceRuntime
from qbsync_dev.broker import private_vhost

pytestmark = pytest.mark.integration
PARTNER_DEACTIVATED = "qbsync.partner.deactivated.v1"


@pytest.fixture(scope="module")
def broker_url(broker_url: str) -> Iterator[str]:
    with private_vhost(broker_url, "qbsync-plumbing") as vhost:
        yield vhost.broker_url


@pytest.fixture
async def bound(harness: Harness) -> AsyncIterator[ServiceRuntime]:
    runtime = plumbing_app.build(
        harness.settings(),
        harness.schema,
        harness.queue,
        bindings=[(EVENTS_EXCHANGE, plumbing_app.PARTNER_UPSERTED)],
    )
    task = asyncio.create_task(runtime.run())
    await wait_until(runtime.broker_ready, 15, "consumer ready")
    yield runtime
    runtime.request_stop()
    await asyncio.wait_for(task, 30)


async def test_an_event_published_to_the_events_exchange_reaches_the_bound_handler(
    harness: Harness, bound: ServiceRuntime
) -> None:
    body = plumbing_app.partner_event(harness.tenant, "r1", "Routed Ltd")
    event_id = json.loads(body)["id"]
    unbound = new_event(
        events.PartnerDeactivated(kind="vendor", partner_id="r1", version=2),
        tenant_id=harness.tenant,
        source="plumbing-test",
    )
    connection = await aio_pika.connect(harness.broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        # Mandatory: the broker says whether any binding matched the routing key.
        await exchange.publish(
            aio_pika.Message(
                body, message_id=event_id, content_type="application/cloudevents+json"
            ),
            routing_key=plumbing_app.PARTNER_UPSERTED,
            mandatory=True,
        )
        with pytest.raises(aio_pika.exceptions.DeliveryError):
            await exchange.publish(
                aio_pika.Message(encode(unbound), message_id=unbound.id),
                routing_key=PARTNER_DEACTIVATED,
                mandatory=True,
            )

    async def done() -> bool:
        return len(harness.results) == 1 and (await harness.effects_by_event()) == {event_id: 1}

    await wait_until(done, 10, "the routed event's effect and result")
    result = json.loads(harness.results[0].body)
    assert result["type"] == "qbsync.partner.synced.v1"
    assert result["data"]["operation_id"] == event_id
    assert await harness.parked() == []
