"""Settings of partner-sync, read once in main() from QBSYNC_* environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from qbsync_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = Field(
        "partner-sync", description="Name used in logs, traces, metrics and queues"
    )
    http_port: int = Field(8081, description="Port of the service's HTTP server")
    gateway_url: str = Field(
        "http://127.0.0.1:8080", description="oauth-gateway base URL (internal token/settings API)"
    )
    service_credential: SecretStr = Field(
        SecretStr("changeme"),
        description="partner-sync's secret for the gateway's internal API (QBSYNC_SERVICE_CREDENTIALS there)",
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
    qbo_interactive_wait_s: float = Field(
        1.0,
        description="How long event handling waits for a busy realm's QBO budget before deferring "
        "the partner to the deferred-work job (keeps one tenant's backlog from blocking others)",
    )
    settings_cache_ttl_s: float = Field(
        300.0, description="Seconds a tenant's settings are cached (events refresh them sooner)"
    )
    qbo_static_tokens: SecretStr | None = Field(
        None,
        description="Development/test only: JSON {tenant: {access_token, realm_id, api_base_url}} "
        "used instead of the gateway; tenant settings are then the defaults",
    )
