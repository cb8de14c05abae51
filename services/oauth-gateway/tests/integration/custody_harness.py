"""Builds a TokenVault over the real test database for custody integration tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.custody.intuit import IntuitOAuth
from oauth_gateway.custody.keyring import KeyRing
from oauth_gateway.custody.metrics import CustodyMetrics
from oauth_gateway.custody.model import TokenGrant
from oauth_gateway.custody.policy import RefreshPolicy
from oauth_gateway.custody.ports import TenantEvents
from oauth_gateway.custody.refresher import AfterTokenResponse, Refresher, _no_hook
from oauth_gateway.custody.repository import TokenRepository
from oauth_gateway.custody.tables import tokens_table
from oauth_gateway.custody.vault import TokenVault

SCHEMA = "oauth_gateway"
# new_tenant fixture: (state="connected", realm_id=None) -> random tenant id
NewTenant = Callable[..., Awaitable[str]]


@dataclass
class Replica:
    """One gateway process's custody objects (tests build several to act as replicas)."""

    vault: TokenVault
    refresher: Refresher
    repository: TokenRepository
    metrics: CustodyMetrics


def replica(
    sessions: async_sessionmaker[AsyncSession],
    intuit: IntuitOAuth,
    events: TenantEvents,
    keyring: KeyRing,
    *,
    policy: RefreshPolicy | None = None,
    hook: AfterTokenResponse = _no_hook,
    api_base_url: str = "http://qbo.test",
) -> Replica:
    repository = TokenRepository(tokens_table(MetaData(schema=SCHEMA)), keyring)
    metrics = CustodyMetrics("oauth-gateway")
    refresher = Refresher(
        sessions, repository, intuit, events, metrics, policy=policy, after_token_response=hook
    )
    return Replica(TokenVault(refresher, api_base_url), refresher, repository, metrics)


async def connect(
    sessions: async_sessionmaker[AsyncSession],
    vault: TokenVault,
    tenant_id: str,
    grant: TokenGrant,
    realm_id: str = "9130",
) -> None:
    """What part A's OAuth callback does: store the grant in its own transaction."""
    async with sessions.begin() as session:
        await vault.store_initial(session, tenant_id, realm_id, grant)


async def age_tokens(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    *,
    access_left: timedelta | None = None,
    refreshed_ago: timedelta | None = None,
    hard_left: timedelta | None = None,
) -> None:
    """Move a row's timestamps as if time had passed."""
    now = datetime.now(UTC)
    values: dict[str, datetime] = {}
    if access_left is not None:
        values["access_expires_at"] = now + access_left
    if refreshed_ago is not None:
        values["refreshed_at"] = now - refreshed_ago
    if hard_left is not None:
        values["refresh_hard_expires_at"] = now + hard_left
    sets = ", ".join(f"{k} = :{k}" for k in values)
    async with sessions.begin() as session:
        await session.execute(
            text(f"UPDATE {SCHEMA}.tokens SET {sets} WHERE tenant_id = :t"),
            {"t": tenant_id, **values},
        )


async def tenant_state(sessions: async_sessionmaker[AsyncSession], tenant_id: str) -> str:
    async with sessions() as session:
        result = await session.execute(
            text(f"SELECT state FROM {SCHEMA}.tenants WHERE tenant_id = :t"), {"t": tenant_id}
        )
        return str(result.scalar_one())
