"""A whole private qbsync stack for system tests: its own RabbitMQ vhost, its own database, every
service and the emulator as real processes on free ports."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from qbsync_dev import supervisor
from qbsync_dev.broker import VhostUnavailable, private_vhost
from qbsync_dev.database import private_database
from qbsync_dev.stack import StackSpec

BROKER_BASE = os.environ.get("QBSYNC_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(scope="module")
def broker_vhost_url() -> Iterator[str]:
    """A private vhost: the stack's queues have the same names as every other stack's."""
    try:
        with private_vhost(BROKER_BASE, "qbsync-e2e") as vhost:
            yield vhost.broker_url
    except VhostUnavailable:
        # A remote broker, or no rights to administer it: share the default vhost (CI has
        # rabbitmqctl).
        yield BROKER_BASE


@pytest.fixture(scope="module")
async def private_database_url() -> AsyncIterator[str]:
    """A database of its own (dropped afterwards), migrated by every service."""
    async with private_database(f"qbsync_e2e_{uuid.uuid4().hex[:8]}") as url:
        yield url


@pytest.fixture(scope="module")
async def running_stack(
    private_database_url: str, broker_vhost_url: str
) -> AsyncIterator[supervisor.RunningStack]:
    """Every process of a private stack, which a test may kill and restart."""
    spec = StackSpec.random_ports(private_database_url, broker_url=broker_vhost_url)
    async with supervisor.running(spec) as running:
        yield running


@pytest.fixture(scope="module")
def stack(running_stack: supervisor.RunningStack) -> StackSpec:
    return running_stack.spec
