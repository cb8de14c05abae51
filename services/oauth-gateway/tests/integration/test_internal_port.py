"""/internal/v1 on its own port (QBSYNC_INTERNAL_HTTP_PORT), as deployed in Kubernetes.

The NetworkPolicy can only fence ports, so the token API must not also answer on the public
port, and nothing public (pages, webhooks, operator API) may answer on the internal one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from live_gateway import LiveGateway, connect, issued_token, live_gateway
from pydantic import SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.config import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def gw(
    emulator_url: str, gateway_db: str, gateway_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[LiveGateway]:
    async with live_gateway(
        emulator_url, gateway_db, gateway_sessions, internal_port=True
    ) as gateway:
        yield gateway


async def test_internal_apis_answer_only_on_their_own_port(gw: LiveGateway) -> None:
    assert gw.internal != gw.url
    realm_id = await gw.emulator.company()
    tenant = await gw.new_tenant()
    try:
        await connect(gw, tenant, realm_id)  # public pages and callback on the public port
        token = await issued_token(gw, tenant)  # the token API on the internal port
        assert token["realm_id"] == realm_id
        service = {"Authorization": f"Bearer {gw.service_secret}"}
        token_path = f"/internal/v1/tenants/{tenant}/access-token"
        settings_path = f"/internal/v1/tenants/{tenant}/settings"
        async with httpx.AsyncClient(base_url=gw.internal) as internal:
            settings = await internal.get(settings_path, headers=service)
            malformed = await internal.post(
                "/internal/v1/tenants/t%00x/access-token", json={}, headers=service
            )
            public_on_internal = {
                path: (await internal.get(path, headers=gw.operator)).status_code
                for path in ("/v1/tenants", f"/v1/tenants/{tenant}", "/livez", "/metrics")
            }
            webhook_on_internal = await internal.post("/webhooks/intuit", content=b"{}")
        async with gw.client() as public:
            token_on_public = await public.post(token_path, json={}, headers=service)
            settings_on_public = await public.get(settings_path, headers=service)
            operator = await public.get(f"/v1/tenants/{tenant}", headers=gw.operator)
    finally:
        await gw.cleanup([tenant])
    assert settings.status_code == 200
    assert settings.json()["tenant_id"] == tenant
    assert malformed.status_code == 422
    assert "input" not in malformed.json()["detail"][0]  # same scrubbed 422 as the public port
    assert public_on_internal == dict.fromkeys(public_on_internal, 404)
    assert webhook_on_internal.status_code == 404
    assert (token_on_public.status_code, settings_on_public.status_code) == (404, 404)
    assert operator.status_code == 200


def test_the_internal_port_must_differ_from_the_public_one() -> None:
    with pytest.raises(ValidationError, match="QBSYNC_INTERNAL_HTTP_PORT"):
        Settings(
            http_port=8080,
            internal_http_port=8080,
            connect_signing_key=SecretStr("k" * 40),
        )
