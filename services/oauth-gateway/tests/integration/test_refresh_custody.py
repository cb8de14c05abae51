"""Refresh under the row lock, invalid_grant handling, recovery and the background job (real DB)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from custody_fakes import FakeIntuit, RecordedEvents
from custody_harness import NewTenant, age_tokens, connect, replica, tenant_state
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.custody.errors import (
    NeedsReauthorization,
    NotConnected,
    RevocationFailed,
    TokenUnavailable,
    UnknownTenant,
)
from oauth_gateway.custody.intuit import InvalidGrant
from oauth_gateway.custody.job import RefreshJob
from oauth_gateway.custody.keyring import KeyRing, generate_key
from oauth_gateway.custody.model import TokenGrant, fingerprint

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing({"k1": __import__("base64").b64decode(generate_key())}, "k1")


async def test_stored_grant_is_handed_out_then_served_from_cache(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    intuit, events = FakeIntuit(), RecordedEvents()
    gw = replica(gateway_sessions, intuit, events, keyring)
    tenant = await new_tenant()
    grant = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, grant, realm_id="4620816365")
    first = await gw.vault.access_token(tenant)
    second = await gw.vault.access_token(tenant)
    assert first.access_token == grant.access_token
    assert first.realm_id == "4620816365"
    assert first.api_base_url == "http://qbo.test"
    assert second == first
    assert intuit.refresh_calls == 0
    assert gw.metrics.issued.labels("oauth-gateway", "cache")._value.get() == 1


async def test_herd_on_an_expired_token_across_two_replicas_refreshes_once(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    intuit, events = FakeIntuit(delay=0.05), RecordedEvents()
    replicas = [replica(gateway_sessions, intuit, events, keyring) for _ in range(2)]
    tenant = await new_tenant()
    old = intuit.grant()
    await connect(gateway_sessions, replicas[0].vault, tenant, old)
    await age_tokens(gateway_sessions, tenant, access_left=timedelta(seconds=-1))
    results = await asyncio.gather(*(replicas[i % 2].vault.access_token(tenant) for i in range(50)))
    assert intuit.refresh_calls == 1
    assert {r.access_token for r in results} == {results[0].access_token}
    assert results[0].access_token != old.access_token


async def test_failed_hash_refreshes_once_and_older_hashes_get_the_current_token(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    intuit = FakeIntuit()
    gw = replica(gateway_sessions, intuit, RecordedEvents(), keyring)
    tenant = await new_tenant()
    grant = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, grant)
    failed = fingerprint(grant.access_token)
    herd = await asyncio.gather(
        *(gw.vault.access_token(tenant, failed_token_sha256=failed) for _ in range(10))
    )
    assert intuit.refresh_calls == 1
    assert {t.access_token for t in herd} == {herd[0].access_token} != {grant.access_token}
    # A straggler reporting the old token gets the new one without another refresh.
    late = await gw.vault.access_token(tenant, failed_token_sha256=failed)
    assert late.access_token == herd[0].access_token
    assert intuit.refresh_calls == 1


async def test_invalid_grant_marks_the_tenant_once_and_reconnect_recovers(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    intuit, events = FakeIntuit(), RecordedEvents()
    gw = replica(gateway_sessions, intuit, events, keyring)
    tenant = await new_tenant()
    await connect(gateway_sessions, gw.vault, tenant, intuit.grant())
    intuit.valid_refresh.clear()  # Intuit forgot the grant (revoked in QuickBooks, expired...)
    await age_tokens(gateway_sessions, tenant, access_left=timedelta(seconds=-1))
    with pytest.raises(NeedsReauthorization):
        await gw.vault.access_token(tenant)
    assert await tenant_state(gateway_sessions, tenant) == "needs_reauthorization"
    assert events.of(tenant) == ["reauthorization_required"]
    # Later callers are refused without hammering Intuit.
    for _ in range(3):
        with pytest.raises(NeedsReauthorization):
            await gw.vault.access_token(tenant)
    assert intuit.refresh_calls == 1
    fresh = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, fresh)
    assert events.of(tenant) == ["reauthorization_required", "connection_recovered"]
    assert (await gw.vault.access_token(tenant)).access_token == fresh.access_token


async def test_crash_between_intuit_answer_and_commit_keeps_the_old_row(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    """F12 with 0 h grace (the fake rotates and kills the old token): re-auth, not a retry storm."""

    async def crash(_tenant: str) -> None:
        raise asyncio.CancelledError  # what a killed task looks like from inside

    intuit, events = FakeIntuit(), RecordedEvents()
    crashing = replica(gateway_sessions, intuit, events, keyring, hook=crash)
    tenant = await new_tenant()
    await connect(gateway_sessions, crashing.vault, tenant, intuit.grant())
    await age_tokens(gateway_sessions, tenant, access_left=timedelta(seconds=-1))
    with pytest.raises(asyncio.CancelledError):
        await crashing.vault.access_token(tenant)
    restarted = replica(gateway_sessions, intuit, events, keyring)
    with pytest.raises(NeedsReauthorization):
        await restarted.vault.access_token(tenant)
    assert intuit.refresh_calls == 2
    assert events.of(tenant) == ["reauthorization_required"]


async def test_transient_failures_back_off_and_fall_back_to_a_live_token(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    intuit = FakeIntuit()
    gw = replica(gateway_sessions, intuit, RecordedEvents(), keyring)
    tenant = await new_tenant()
    grant = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, grant)
    intuit.fail_next = 5
    # Inside the 5-minute margin but not expired: the old token still works, hand it out.
    await age_tokens(gateway_sessions, tenant, access_left=timedelta(minutes=2))
    assert (await gw.vault.access_token(tenant)).access_token == grant.access_token
    assert intuit.refresh_calls == 1
    await age_tokens(gateway_sessions, tenant, access_left=timedelta(seconds=-1))
    with pytest.raises(TokenUnavailable):
        await gw.vault.access_token(tenant)
    # Within the back-off window Intuit is not called again.
    assert intuit.refresh_calls == 1
    assert gw.metrics.refreshes.labels("oauth-gateway", "demand", "backoff")._value.get() == 1


async def test_a_token_qbo_refused_is_not_handed_back_while_intuit_is_down(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    intuit = FakeIntuit()
    gw = replica(gateway_sessions, intuit, RecordedEvents(), keyring)
    tenant = await new_tenant()
    grant = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, grant)
    intuit.fail_next = 5
    refused = fingerprint(grant.access_token)
    # QBO answered 401 to a token that has not expired, and Intuit cannot refresh it now.
    with pytest.raises(TokenUnavailable):
        await gw.vault.access_token(tenant, failed_token_sha256=refused)
    assert intuit.refresh_calls == 1
    # Inside the back-off: still not that token for callers who saw it fail...
    with pytest.raises(TokenUnavailable):
        await gw.vault.access_token(tenant, failed_token_sha256=refused)
    assert intuit.refresh_calls == 1
    # ...while callers who have not seen it fail still get the live token.
    assert (await gw.vault.access_token(tenant)).access_token == grant.access_token


async def test_unknown_and_unconnected_tenants(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    gw = replica(gateway_sessions, FakeIntuit(), RecordedEvents(), keyring)
    with pytest.raises(UnknownTenant):
        await gw.vault.access_token("t-does-not-exist")
    tenant = await new_tenant(state="not_connected")
    with pytest.raises(NotConnected) as info:
        await gw.vault.access_token(tenant)
    assert info.value.state == "not_connected"


async def test_revoke_and_delete_revokes_at_intuit_and_forgets_tokens(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    intuit = FakeIntuit()
    gw = replica(gateway_sessions, intuit, RecordedEvents(), keyring)
    tenant = await new_tenant()
    grant = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, grant)
    await gw.vault.access_token(tenant)  # warm the cache
    await gw.vault.revoke_and_delete(tenant)
    assert intuit.revoked == [grant.refresh_token]
    with pytest.raises(NotConnected):
        await gw.vault.access_token(tenant)


async def test_revoke_failure_at_intuit_keeps_the_tokens_for_a_retry(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    intuit = FakeIntuit()
    gw = replica(gateway_sessions, intuit, RecordedEvents(), keyring)
    tenant = await new_tenant()
    grant = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, grant)
    intuit.fail_revokes = 1
    with pytest.raises(RevocationFailed):
        await gw.vault.revoke_and_delete(tenant)
    assert intuit.revoked == []
    # Still ours, still usable: the grant that stays live at Intuit is not orphaned.
    assert (await gw.vault.access_token(tenant)).access_token == grant.access_token
    await gw.vault.revoke_and_delete(tenant)
    assert intuit.revoked == [grant.refresh_token]
    with pytest.raises(NotConnected):
        await gw.vault.access_token(tenant)


async def test_background_job_refreshes_quiet_tenants_and_warns_before_hard_expiry(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    intuit, events = FakeIntuit(), RecordedEvents()
    gw = replica(gateway_sessions, intuit, events, keyring)
    quiet, busy, expiring = await new_tenant(), await new_tenant(), await new_tenant()
    for tenant in (quiet, busy, expiring):
        await connect(gateway_sessions, gw.vault, tenant, intuit.grant())
    await age_tokens(gateway_sessions, quiet, refreshed_ago=timedelta(days=31))
    await age_tokens(gateway_sessions, expiring, hard_left=timedelta(days=20))
    job = RefreshJob(gw.refresher, batch=1000)
    await job.run_once()
    async with gateway_sessions() as session:
        quiet_row = await gw.repository.load(session, quiet)
        busy_row = await gw.repository.load(session, busy)
    assert quiet_row is not None
    assert quiet_row.generation == 2
    assert busy_row is not None
    assert busy_row.generation == 1
    assert events.of(expiring) == ["refresh_token_expiring"]
    await job.run_once()  # warned once, not every round
    assert events.of(expiring) == ["refresh_token_expiring"]
    assert events.of(quiet) == []


async def test_many_tenants_refreshing_at_once_all_keep_a_valid_refresh_token(
    gateway_sessions: Sessions,
    new_tenant: NewTenant,
    keyring: KeyRing,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """F11 (second half) with rotation on every refresh, two replicas, five callers per tenant."""
    intuit = FakeIntuit(delay=0.01)
    replicas = [replica(gateway_sessions, intuit, RecordedEvents(), keyring) for _ in range(2)]
    tenants = [await new_tenant() for _ in range(60)]
    for tenant in tenants:
        await connect(gateway_sessions, replicas[0].vault, tenant, intuit.grant())
        await age_tokens(gateway_sessions, tenant, access_left=timedelta(seconds=-1))
    with caplog.at_level("DEBUG"):
        issued = await asyncio.gather(
            *(replicas[i % 2].vault.access_token(t) for t in tenants for i in range(5))
        )
    assert intuit.refresh_calls == len(tenants)
    async with gateway_sessions() as session:
        for tenant in tenants:
            row = await replicas[0].repository.load(session, tenant)
            assert row is not None
            assert row.generation == 2
            assert row.refresh_token in intuit.valid_refresh  # still usable at "Intuit"
    secrets = {t.access_token for t in issued} | set(intuit.valid_refresh)
    assert len({t.access_token for t in issued}) == len(tenants)
    assert not [s for s in secrets if s in caplog.text]


async def test_compare_and_swap_refuses_a_late_writer_and_keeps_the_newer_row(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    intuit = FakeIntuit()
    gw = replica(gateway_sessions, intuit, RecordedEvents(), keyring)
    tenant = await new_tenant()
    await connect(gateway_sessions, gw.vault, tenant, intuit.grant())
    async with gateway_sessions() as session:
        read_by_late_writer = await gw.repository.load(session, tenant)
    assert read_by_late_writer is not None
    assert read_by_late_writer.generation == 1
    newer = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, newer)  # a reconnect lands first

    now = datetime.now(UTC)
    late = read_by_late_writer.after_refresh(intuit.grant(), now)
    async with gateway_sessions.begin() as session:
        swapped = await gw.repository.compare_and_swap(session, late, 1, now)
    assert swapped is False
    async with gateway_sessions() as session:
        kept = await gw.repository.load(session, tenant)
    assert kept is not None
    assert kept.generation == 2
    assert (kept.access_token, kept.refresh_token) == (newer.access_token, newer.refresh_token)


class _ReconnectBeforeNextLock:
    """Session factory seam: runs one pending action just before the next transaction begins.

    Lets a test land a reconnect exactly between the refresher's invalid_grant and its re-read,
    which no timing could reproduce reliably.
    """

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self.pending: Callable[[], Awaitable[None]] | None = None

    def __call__(self) -> AsyncSession:
        return self._sessions()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        action, self.pending = self.pending, None
        if action is not None:
            await action()
        async with self._sessions.begin() as session:
            yield session


async def test_invalid_grant_then_a_newer_generation_on_re_read_is_not_reauthorization(
    gateway_sessions: Sessions, new_tenant: NewTenant, keyring: KeyRing
) -> None:
    seam = _ReconnectBeforeNextLock(gateway_sessions)
    events = RecordedEvents()
    tenant = await new_tenant()
    reconnected: list[TokenGrant] = []

    class IntuitRevokedMeanwhile(FakeIntuit):
        async def refresh(self, refresh_token: str) -> TokenGrant:
            self.refresh_calls += 1

            async def reconnect() -> None:
                grant = self.grant()
                reconnected.append(grant)
                await connect(gateway_sessions, gw.vault, tenant, grant)

            seam.pending = reconnect
            raise InvalidGrant("refresh_token: HTTP 400 invalid_grant")

    intuit = IntuitRevokedMeanwhile()
    gw = replica(cast(Sessions, seam), intuit, events, keyring)
    old = intuit.grant()
    await connect(gateway_sessions, gw.vault, tenant, old)
    issued = await gw.vault.access_token(tenant, failed_token_sha256=fingerprint(old.access_token))
    assert intuit.refresh_calls == 1
    assert issued.access_token == reconnected[0].access_token
    assert await tenant_state(gateway_sessions, tenant) == "connected"
    assert "reauthorization_required" not in events.of(tenant)
    async with gateway_sessions() as session:
        row = await gw.repository.load(session, tenant)
    assert row is not None
    assert (row.generation, row.reauth_required_at) == (2, None)
