"""Internal settings API: credential check, defaults, stored versions, qbsync_common's cached client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from custody_harness import NewTenant
from fastapi import FastAPI
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.custody.credentials import ServiceCredentials
from oauth_gateway.tenants.internal_settings import settings_router
from oauth_gateway.tenants.repository import TenantRepository
from oauth_gateway.tenants.tables import tenant_tables
from qbsync_common.contract.tenant_settings import TenantSettings
from qbsync_common.messaging.errors import PermanentError
from qbsync_common.tenant_settings import GatewayTenantSettings

pytestmark = pytest.mark.integration

SECRET = "ps-" + "s" * 40
REPOSITORY = TenantRepository(tenant_tables(MetaData(schema="oauth_gateway")))


@pytest.fixture
async def http(
    gateway_sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    credentials = ServiceCredentials({"partner-sync": SECRET})
    app.include_router(settings_router(gateway_sessions, REPOSITORY, credentials))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def test_wrong_credential_is_refused(http: httpx.AsyncClient, new_tenant: NewTenant) -> None:
    tenant = await new_tenant()
    response = await http.get(
        f"/internal/v1/tenants/{tenant}/settings", headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401


async def test_client_reads_defaults_then_stored_settings_and_events_win(
    http: httpx.AsyncClient,
    new_tenant: NewTenant,
    gateway_sessions: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await new_tenant()
    client = GatewayTenantSettings("http://gateway", SECRET, http=http, ttl_s=0.0)
    assert await client.get(tenant) == TenantSettings()

    stored = TenantSettings(sync_vendors=False, projects_as_sub_customers=True)
    async with gateway_sessions.begin() as session:
        await REPOSITORY.save_settings(
            session, tenant, stored.model_dump(mode="json"), datetime.now(UTC)
        )
    assert await client.get(tenant) == stored  # ttl 0: fetched again

    cached = GatewayTenantSettings("http://gateway", SECRET, http=http, ttl_s=3600.0)
    assert (await cached.get(tenant)).sync_vendors is False
    # A TenantSettingsChanged event replaces the cached copy without a call; an older one does not.
    cached.apply_change(tenant, 2, TenantSettings(sync_clients=False).model_dump(mode="json"))
    cached.apply_change(tenant, 1, TenantSettings().model_dump(mode="json"))
    assert (await cached.get(tenant)).sync_clients is False


async def test_unknown_tenant_is_a_permanent_error(http: httpx.AsyncClient) -> None:
    client = GatewayTenantSettings("http://gateway", SECRET, http=http)
    with pytest.raises(PermanentError) as caught:
        await client.get("t-does-not-exist")
    assert caught.value.reason == "unknown-tenant"
