"""Sets up a demo tenant: the Intuit app and company in the emulator, the tenant in the gateway,
and the connection through the real OAuth flow (connect link → Intuit consent → callback)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from qbsync_dev.demo.environment import DemoEnvironment

CONNECTED = "connected"


class SetupError(Exception):
    """A step of the demo setup failed; the message says which and what was answered."""


@dataclass(frozen=True)
class ConnectedTenant:
    tenant_id: str
    realm_id: str
    connect_page: str  # a fresh, unused connect link (opening it reconnects the tenant)


def _check(response: httpx.Response, step: str, *ok: int) -> httpx.Response:
    if response.status_code not in (ok or (200, 201)):
        raise SetupError(f"{step}: HTTP {response.status_code} {response.text[:300]}")
    return response


async def register_app(client: httpx.AsyncClient, env: DemoEnvironment) -> None:
    """The development Intuit app, matching the gateway's client id/secret and callback; its
    webhooks go to the gateway, which is how payments made in QuickBooks are noticed quickly."""
    spec = {
        "client_id": env.client_id,
        "client_secret": env.client_secret,
        "name": "qbsync (development)",
        "redirect_uris": [f"{env.gateway_url}/oauth/callback"],
        "webhook_url": f"{env.gateway_url}/webhooks/intuit",
        "webhook_verifier_token": env.webhook_verifier_token,
    }
    _check(await client.post(f"{env.emulator_url}/_emulator/apps", json=spec), "register app")


async def ensure_company(
    client: httpx.AsyncClient, env: DemoEnvironment, realm_id: str, name: str
) -> None:
    """A seeded company (accounts, tax codes, sample records) like an Intuit sandbox company."""
    body = {"realm_id": realm_id, "company_name": name, "seeded": True}
    answer = await client.post(f"{env.emulator_url}/_emulator/companies", json=body)
    _check(answer, "create company", 201, 409)  # 409: it exists already, which is fine


async def ensure_tenant(
    client: httpx.AsyncClient, env: DemoEnvironment, tenant_id: str, name: str
) -> dict[str, Any]:
    base = f"{env.gateway_url}/v1/tenants"
    headers = env.operator_headers()
    answer = await client.post(base, json={"tenant_id": tenant_id, "name": name}, headers=headers)
    if answer.status_code == 409:
        answer = await client.get(f"{base}/{tenant_id}", headers=headers)
    body: dict[str, Any] = _check(answer, "create tenant", 200, 201).json()
    return body


async def connect_link(client: httpx.AsyncClient, env: DemoEnvironment, tenant_id: str) -> str:
    """A fresh single-use connect link, as an operator hands one to a tenant admin."""
    url = f"{env.gateway_url}/v1/tenants/{tenant_id}/links"
    answer = await client.post(url, json={"purpose": "connect"}, headers=env.operator_headers())
    return str(_check(answer, "create connect link").json()["url"])


async def connect(
    client: httpx.AsyncClient, env: DemoEnvironment, tenant_id: str, realm_id: str
) -> ConnectedTenant:
    """What a tenant admin does in a browser, with the emulator approving consent for realm_id."""
    link = await connect_link(client, env, tenant_id)
    _check(await client.get(link), "open the connect page")
    started = _check(await client.post(link), "press Connect", 303)
    to_intuit = started.headers["location"]
    # The gateway binds the callback to this browser with a cookie; carry it like a browser.
    for name, value in started.cookies.items():
        client.cookies.set(name, value)
    approve = {"realm_id": realm_id}
    approve_url = f"{env.emulator_url}/_emulator/apps/{env.client_id}/auto-approve"
    _check(await client.put(approve_url, json=approve), "auto-approve consent")
    consent = _check(await client.get(to_intuit), "Intuit consent", 302, 303)
    callback = consent.headers["location"]
    if not callback.startswith(f"{env.gateway_url}/oauth/callback"):
        raise SetupError(f"Intuit redirected to {callback}, not the gateway's callback")
    _check(await client.get(callback), "OAuth callback", 200, 303)
    await wait_connected(client, env, tenant_id, realm_id)
    # The link just used is spent; leave one a person can open to see the connect page.
    return ConnectedTenant(tenant_id, realm_id, await connect_link(client, env, tenant_id))


async def wait_connected(
    client: httpx.AsyncClient,
    env: DemoEnvironment,
    tenant_id: str,
    realm_id: str,
    timeout_s: float = 15.0,
) -> None:
    url = f"{env.gateway_url}/v1/tenants/{tenant_id}"
    deadline = asyncio.get_running_loop().time() + timeout_s
    state = None
    while asyncio.get_running_loop().time() < deadline:
        tenant = _check(await client.get(url, headers=env.operator_headers()), "read tenant").json()
        state = tenant["state"]
        if state == CONNECTED and tenant["realm_id"] == realm_id:
            return
        await asyncio.sleep(0.2)
    raise SetupError(f"tenant {tenant_id} is {state}, not connected to realm {realm_id}")


async def set_up_tenant(
    env: DemoEnvironment, tenant_id: str, tenant_name: str, realm_id: str, company_name: str
) -> ConnectedTenant:
    """Safe to repeat: a tenant connected before (the database outlives the in-memory emulator)
    goes through the flow again, which gives the gateway a grant the emulator knows."""
    async with httpx.AsyncClient(timeout=15) as client:
        await register_app(client, env)
        await ensure_company(client, env, realm_id, company_name)
        await ensure_tenant(client, env, tenant_id, tenant_name)
        return await connect(client, env, tenant_id, realm_id)
