"""Part A's background job and log hygiene: state gauges, purged states, no secrets logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from custody_fakes import FakeIntuit, RecordedEvents
from custody_harness import replica
from edge_harness import SCHEMA, Gateway, dev_keyring, gateway
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.integration


@pytest.fixture
async def gw(gateway_sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Gateway]:
    custody = replica(gateway_sessions, FakeIntuit(), RecordedEvents(), dev_keyring())
    gw = gateway(gateway_sessions, custody.vault)
    yield gw
    await gw.cleanup()


async def test_housekeeping_installs_keys_counts_states_and_purges(gw: Gateway) -> None:
    stop = asyncio.Event()
    job = asyncio.create_task(gw.edge.housekeeping(stop, interval=0.05))
    try:
        for _ in range(100):  # the job installs the bootstrap operator key first
            if (await gw.client.get("/v1/tenants", headers=gw.auth)).status_code == 200:
                break
            await asyncio.sleep(0.05)
        tenant = await gw.new_tenant()
        await gw.start(tenant)
        await gw.execute(
            f"UPDATE {SCHEMA}.oauth_states SET expires_at = now() - interval '1 minute' "
            "WHERE tenant_id = :t",
            t=tenant,
        )
        registry = gw.edge.metrics.registry
        labels = {"service": "oauth-gateway", "state": "not_connected"}
        for _ in range(100):
            left = await gw.sql(
                f"SELECT count(*) FROM {SCHEMA}.oauth_states WHERE tenant_id = :t", t=tenant
            )
            if left == 0 and (registry.get_sample_value("qbsync_tenants", labels) or 0) >= 1:
                break
            await asyncio.sleep(0.05)
        assert left == 0
        assert (registry.get_sample_value("qbsync_tenants", labels) or 0) >= 1
        assert (
            registry.get_sample_value(
                "qbsync_tenants", {"service": "oauth-gateway", "state": "needs_reauthorization"}
            )
            is not None
        )
    finally:
        stop.set()
        await asyncio.wait_for(job, 5)


async def test_connect_flow_logs_no_codes_states_or_tokens(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    await gw.edge.keys.install([gw.operator_key], gw.edge.clock())
    caplog.set_level(logging.DEBUG)
    tenant = await gw.new_tenant()
    state = await gw.start(tenant)
    code = gw.intuit.approve()
    grant = gw.intuit.codes[code]
    await gw.callback(code=code, state=state, realmId="4620816365")
    await gw.callback(code=code, state=state, realmId="4620816365")  # replay: logged refusal
    # The gateway's own records (the test's httpx client logs its request URLs, as a browser would).
    text = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    assert "connected to realm 4620816365" in text
    for secret in (code, state, grant.access_token, grant.refresh_token, gw.operator_key):
        assert secret not in text
