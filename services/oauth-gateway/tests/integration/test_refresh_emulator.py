"""F11 and F12 against the emulated Intuit token endpoint (real HTTP, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import httpx
import pytest
from custody_fakes import RecordedEvents
from custody_harness import NewTenant, age_tokens, connect, replica, tenant_state
from emulator_intuit import EmulatedApp, register_app
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.custody.errors import NeedsReauthorization, TokenUnavailable
from oauth_gateway.custody.keyring import KeyRing, generate_key
from oauth_gateway.custody.model import IssuedToken
from oauth_gateway.custody.policy import RefreshPolicy

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing({"k1": base64.b64decode(generate_key())}, "k1")


async def qbo_accepts(base_url: str, realm_id: str, access_token: str) -> bool:
    async with httpx.AsyncClient() as client:
        resp = await client.get(
            f"{base_url}/v3/company/{realm_id}/companyinfo/{realm_id}",
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
    return resp.status_code == 200


async def test_fifty_callers_on_an_expired_token_cause_one_refresh_at_intuit(
    emulator_url: str, gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    """F11: two replicas, 50 concurrent requests, exactly one refresh; the new token works."""
    app = await register_app(emulator_url, grace_hours=0, rotate_after_hours=0)
    intuit = app.intuit()
    replicas = [replica(gateway_sessions, intuit, RecordedEvents(), keyring) for _ in range(2)]
    realm_id = await app.company()
    tenant = await new_tenant()
    await connect(gateway_sessions, replicas[0].vault, tenant, await app.grant(realm_id), realm_id)
    await age_tokens(gateway_sessions, tenant, access_left=timedelta(seconds=-1))
    issued = await asyncio.gather(*(replicas[i % 2].vault.access_token(tenant) for i in range(50)))
    assert await app.refresh_calls() == 1
    assert len({t.access_token for t in issued}) == 1
    assert await qbo_accepts(emulator_url, realm_id, issued[0].access_token)


async def test_two_hundred_tenants_refreshing_at_once_all_keep_a_live_refresh_token(
    emulator_url: str, gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    """F11: every refresh rotates (strictest emulator setting); no tenant loses its grant."""
    app = await register_app(emulator_url, grace_hours=0, rotate_after_hours=0)
    intuit = app.intuit()
    replicas = [replica(gateway_sessions, intuit, RecordedEvents(), keyring) for _ in range(2)]
    realm_id = await app.company()
    tenants = list(await asyncio.gather(*(new_tenant() for _ in range(200))))
    grants = await app.grants(realm_id, len(tenants))
    async with gateway_sessions.begin() as session:
        for tenant, grant in zip(tenants, grants, strict=True):
            await replicas[0].vault.store_initial(session, tenant, realm_id, grant)
    await expire_access_tokens(gateway_sessions, tenants)
    issued = await asyncio.gather(
        *(replicas[i % 2].vault.access_token(t) for t in tenants for i in range(2))
    )
    assert await app.refresh_calls() == len(tenants)
    live = await app.current_refresh_tokens()
    async with gateway_sessions() as session:
        for tenant in tenants:
            row = await replicas[0].repository.load(session, tenant)
            assert row is not None
            assert row.refresh_token in live
    assert await qbo_accepts(emulator_url, realm_id, issued[-1].access_token)


async def expire_access_tokens(sessions: Sessions, tenants: list[str]) -> None:
    async with sessions.begin() as session:
        await session.execute(
            text(
                "UPDATE oauth_gateway.tokens SET access_expires_at = now() - interval '1 second' "
                "WHERE tenant_id = ANY(:ids)"
            ),
            {"ids": tenants},
        )


async def crash_mid_refresh(
    emulator_url: str,
    sessions: Sessions,
    new_tenant: NewTenant,
    keyring: KeyRing,
    grace_hours: float,
) -> tuple[str, RecordedEvents, EmulatedApp]:
    """Connect a tenant, then die after Intuit rotated its refresh token but before our commit."""

    async def killed(_tenant: str) -> None:
        raise asyncio.CancelledError  # how a SIGKILLed pod's refresh looks from the database

    app = await register_app(emulator_url, grace_hours=grace_hours, rotate_after_hours=0)
    events = RecordedEvents()
    doomed = replica(sessions, app.intuit(), events, keyring, hook=killed)
    realm_id = await app.company()
    tenant = await new_tenant()
    await connect(sessions, doomed.vault, tenant, await app.grant(realm_id), realm_id)
    await age_tokens(sessions, tenant, access_left=timedelta(seconds=-1))
    with pytest.raises(asyncio.CancelledError):
        await doomed.vault.access_token(tenant)
    assert await app.refresh_calls() == 1
    return tenant, events, app


async def test_crash_before_commit_with_24h_grace_recovers_without_reauthorization(
    emulator_url: str, gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    tenant, events, app = await crash_mid_refresh(
        emulator_url, gateway_sessions, new_tenant, keyring, grace_hours=24
    )
    restarted = replica(gateway_sessions, app.intuit(), events, keyring)
    token = await restarted.vault.access_token(tenant)
    assert await app.refresh_calls() == 2
    assert token.realm_id
    assert await qbo_accepts(emulator_url, token.realm_id, token.access_token)
    assert await tenant_state(gateway_sessions, tenant) == "connected"
    assert events.of(tenant) == []


async def test_crash_before_commit_with_0h_grace_marks_reauthorization_once(
    emulator_url: str, gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    tenant, events, app = await crash_mid_refresh(
        emulator_url, gateway_sessions, new_tenant, keyring, grace_hours=0
    )
    restarted = replica(gateway_sessions, app.intuit(), events, keyring)
    # Another tenant of the same app, whose access token also just expired, asks at the same time.
    bystander_realm, bystander = await app.company(), await new_tenant()
    await connect(
        gateway_sessions,
        restarted.vault,
        bystander,
        await app.grant(bystander_realm),
        bystander_realm,
    )
    await age_tokens(gateway_sessions, bystander, access_left=timedelta(seconds=-1))
    answers = await asyncio.gather(
        *(restarted.vault.access_token(t) for t in [tenant, bystander] * 5),
        return_exceptions=True,
    )
    doomed_answers, bystander_answers = answers[0::2], answers[1::2]
    assert all(isinstance(a, NeedsReauthorization) for a in doomed_answers), doomed_answers
    # One refresh attempt for the doomed tenant after the restart, then none (no retry storm),
    # and one for the bystander.
    assert await app.refresh_calls() == 3
    assert await tenant_state(gateway_sessions, tenant) == "needs_reauthorization"
    assert events.of(tenant) == ["reauthorization_required"]
    # Other tenants are unaffected: the bystander refreshed once, works and emitted nothing.
    assert all(isinstance(a, IssuedToken) for a in bystander_answers), bystander_answers
    bystander_tokens = {a.access_token for a in bystander_answers if isinstance(a, IssuedToken)}
    assert len(bystander_tokens) == 1
    assert await qbo_accepts(emulator_url, bystander_realm, bystander_tokens.pop())
    assert await tenant_state(gateway_sessions, bystander) == "connected"
    assert events.of(bystander) == []
    # Reconnecting (a new grant through the OAuth callback) recovers the tenant.
    realm_id = await app.company()
    await connect(gateway_sessions, restarted.vault, tenant, await app.grant(realm_id), realm_id)
    assert events.of(tenant) == ["reauthorization_required", "connection_recovered"]
    token = await restarted.vault.access_token(tenant)
    assert await qbo_accepts(emulator_url, realm_id, token.access_token)


async def test_timeout_while_intuit_rotates_backs_off_then_needs_reauthorization(
    emulator_url: str, gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    """The F12 window without a crash: our call times out, Intuit rotates anyway (0 h grace)."""
    app = await register_app(emulator_url, grace_hours=0, rotate_after_hours=0)
    events = RecordedEvents()
    # A back-off long enough that the second call below lands inside it on a loaded machine.
    policy = RefreshPolicy(failure_backoff=timedelta(seconds=3))
    gw = replica(gateway_sessions, app.intuit(timeout=0.3), events, keyring, policy=policy)
    realm_id = await app.company()
    tenant = await new_tenant()
    await connect(gateway_sessions, gw.vault, tenant, await app.grant(realm_id), realm_id)
    await age_tokens(gateway_sessions, tenant, access_left=timedelta(seconds=-1))
    await app.hang_next_token_call(0.8)
    with pytest.raises(TokenUnavailable):
        await gw.vault.access_token(tenant)
    with pytest.raises(TokenUnavailable):  # inside the back-off: Intuit is not called again
        await gw.vault.access_token(tenant)
    await asyncio.sleep(3.2)  # the hung call completes at Intuit (rotating) and back-off ends
    assert await app.refresh_calls() == 1
    with pytest.raises(NeedsReauthorization):
        await gw.vault.access_token(tenant)
    assert await app.refresh_calls() == 2
    assert events.of(tenant) == ["reauthorization_required"]
