"""Custody's tenant events go through the real outbox, in the transaction that changed state."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from custody_fakes import FakeIntuit
from custody_harness import NewTenant, age_tokens, connect, replica
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.custody.errors import NeedsReauthorization
from oauth_gateway.custody.events import OutboxTenantEvents
from oauth_gateway.custody.job import RefreshJob
from oauth_gateway.custody.keyring import KeyRing, generate_key
from qbsync_common.messaging.topology import RESULTS_EXCHANGE
from qbsync_common.outbox import Outbox
from qbsync_common.tables import plumbing_tables

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def outbox_rows(gateway_sessions: Sessions) -> AsyncIterator[list[str]]:
    """Tenant ids whose outbox rows the test reads; their rows are deleted afterwards."""
    tenants: list[str] = []
    yield tenants
    async with gateway_sessions.begin() as session:
        await session.execute(
            text("DELETE FROM oauth_gateway.outbox WHERE headers->>'tenantid' = ANY(:t)"),
            {"t": tenants},
        )


async def events_of(sessions: Sessions, tenant_id: str) -> list[tuple[str, str, dict[str, str]]]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT exchange, routing_key, body FROM oauth_gateway.outbox "
                "WHERE headers->>'tenantid' = :t ORDER BY seq"
            ),
            {"t": tenant_id},
        )
        return [(str(e), str(k), json.loads(bytes(b))["data"]) for e, k, b in rows]


async def test_reauthorization_recovery_and_expiry_warning_reach_the_outbox(
    gateway_sessions: Sessions, new_tenant: NewTenant, outbox_rows: list[str]
) -> None:
    intuit = FakeIntuit()
    events = OutboxTenantEvents(Outbox(plumbing_tables(MetaData(schema="oauth_gateway"))))
    keyring = KeyRing({"k1": base64.b64decode(generate_key())}, "k1")
    gw = replica(gateway_sessions, intuit, events, keyring)
    tenant = await new_tenant()
    outbox_rows.append(tenant)
    await connect(gateway_sessions, gw.vault, tenant, intuit.grant(), realm_id="4620816365")
    intuit.valid_refresh.clear()
    await age_tokens(gateway_sessions, tenant, access_left=timedelta(seconds=-1))
    with pytest.raises(NeedsReauthorization):
        await gw.vault.access_token(tenant)
    await connect(gateway_sessions, gw.vault, tenant, intuit.grant(), realm_id="4620816365")
    await age_tokens(gateway_sessions, tenant, hard_left=timedelta(days=10))
    await RefreshJob(gw.refresher).run_once()

    seen = await events_of(gateway_sessions, tenant)
    assert [(e, k) for e, k, _ in seen] == [
        (RESULTS_EXCHANGE, "qbsync.tenant.reauthorization_required.v1"),
        (RESULTS_EXCHANGE, "qbsync.tenant.connection_recovered.v1"),
        (RESULTS_EXCHANGE, "qbsync.tenant.refresh_token_expiring.v1"),
    ]
    assert seen[0][2]["reason"] == "invalid-grant"
    assert {data["realm_id"] for _, _, data in seen} == {"4620816365"}
