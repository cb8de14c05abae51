"""How a sync service reaches QBO: settings and wiring shared by partner-, invoice-sync and the poller.

Tokens and tenant settings come from the oauth-gateway's internal API; in development and tests a
static token document can stand in for the gateway. The per-realm rate limiter is shared through
PostgreSQL by every process that calls QBO.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
from pydantic import Field, SecretStr

from qbo_client.limiter import RateLimiter
from qbo_client.limiter_memory import InMemoryRateLimiter
from qbo_client.limiter_postgres import PostgresRateLimiter
from qbo_client.tokens import AccessToken, GatewayTokenProvider, StaticTokenProvider, TokenProvider
from qbsync_common.db import asyncpg_dsn
from qbsync_common.settings import ServiceSettings
from qbsync_common.tenant_settings import (
    GatewayTenantSettings,
    StaticTenantSettings,
    TenantSettingsSource,
)


class SyncServiceSettings(ServiceSettings):
    """Settings every service that writes to or reads from QBO has."""

    gateway_url: str = Field(
        "http://127.0.0.1:8080", description="oauth-gateway base URL (internal token/settings API)"
    )
    service_credential: SecretStr = Field(
        SecretStr("changeme"),
        description="This service's secret for the gateway's internal API "
        "(its entry in the gateway's QBSYNC_SERVICE_CREDENTIALS)",
    )
    operator_api_keys: SecretStr | None = Field(
        None, description="Operator API keys, comma-separated or a JSON list"
    )
    qbo_limiter: Literal["postgres", "memory"] = Field(
        "postgres", description="Per-realm QBO rate limiter: shared in PostgreSQL, or in memory"
    )
    qbo_max_wait_s: float = Field(
        20.0,
        description="Longest wait for the realm's QBO budget before retrying via the delay queue",
    )
    settings_cache_ttl_s: float = Field(
        300.0, description="Seconds a tenant's settings are cached (events refresh them sooner)"
    )
    qbo_static_tokens: SecretStr | None = Field(
        None,
        description="Development/test only: JSON {tenant: {access_token, realm_id, api_base_url}} "
        "used instead of the gateway; tenant settings are then the defaults",
    )

    def uses_static_tokens(self) -> bool:
        return bool(self.qbo_static_tokens) and self.environment != "production"

    def operator_keys_text(self) -> str:
        return self.operator_api_keys.get_secret_value() if self.operator_api_keys else ""


def static_tokens(raw: str) -> StaticTokenProvider:
    """Tokens from a JSON document (development and tests): they never expire."""
    doc = json.loads(raw)
    expires = datetime.now(UTC) + timedelta(days=3650)
    return StaticTokenProvider(
        {
            tenant: AccessToken(v["access_token"], v["realm_id"], v["api_base_url"], expires)
            for tenant, v in doc.items()
        }
    )


def token_provider(settings: SyncServiceSettings) -> TokenProvider:
    if settings.uses_static_tokens() and settings.qbo_static_tokens is not None:
        return static_tokens(settings.qbo_static_tokens.get_secret_value())
    return GatewayTokenProvider(
        settings.gateway_url, settings.service_credential.get_secret_value()
    )


def tenant_settings_source(settings: SyncServiceSettings) -> TenantSettingsSource:
    if settings.uses_static_tokens():
        return StaticTenantSettings()
    return GatewayTenantSettings(
        settings.gateway_url,
        settings.service_credential.get_secret_value(),
        ttl_s=settings.settings_cache_ttl_s,
    )


async def rate_limiter(settings: SyncServiceSettings) -> RateLimiter:
    """Per-realm QBO limits shared with every other process (the qbo_limits schema)."""
    if settings.qbo_limiter == "memory":
        return InMemoryRateLimiter()
    pool = await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url.get_secret_value()),
        min_size=1,
        max_size=4,
        reset=_keep_session,
    )
    limiter = PostgresRateLimiter(pool)
    await limiter.ensure_schema()
    return limiter


async def _keep_session(connection: asyncpg.Connection[Any]) -> None:
    """The limiter leaves no session state behind (its locks are transaction-scoped), so the
    default reset on release (RESET ALL, UNLISTEN, advisory unlock: one more round trip per QBO
    call, and loopback round trips are what the sync services spend their CPU on) is skipped."""
