"""Settings of payment-poller, read once in main() from QBSYNC_* environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from qbsync_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = Field(
        "payment-poller", description="Name used in logs, traces, metrics and queues"
    )
    http_port: int = Field(8083, description="Port of the service's HTTP server")
    gateway_url: str = Field(
        "http://127.0.0.1:8080", description="oauth-gateway base URL (internal token API)"
    )
    service_credential: SecretStr = Field(
        SecretStr("changeme"),
        description="payment-poller's secret for the gateway's internal API "
        "(QBSYNC_SERVICE_CREDENTIALS there)",
    )
    operator_api_keys: SecretStr = Field(
        SecretStr(""), description="Operator API keys, comma-separated or a JSON list"
    )
    qbo_limiter: Literal["postgres", "memory"] = Field(
        "postgres", description="Per-realm QBO rate limiter: shared in PostgreSQL, or in memory"
    )
    qbo_max_wait_s: float = Field(
        20.0, description="Longest wait for the realm's QBO budget; the poll is retried later"
    )
    qbo_static_tokens: SecretStr | None = Field(
        None,
        description="Development/test only: JSON {tenant: {access_token, realm_id, api_base_url}} "
        "used instead of the gateway",
    )
    default_poll_interval_s: int = Field(
        900, ge=1, description="Poll interval until the tenant's settings say otherwise"
    )
    poll_overlap_s: float = Field(
        300.0, ge=0, description="CDC window starts this long before the cursor (clock skew)"
    )
    poll_lease_s: float = Field(
        120.0, gt=0, description="A claimed poll lapses after this long (crashed replica)"
    )
    poll_retry_s: float = Field(
        60.0, gt=0, description="After a failed poll, the tenant is polled again this much later"
    )
    webhook_debounce_s: float = Field(
        0.5, ge=0, description="Webhooks for one tenant within this window cause one poll"
    )
    scheduler_tick_s: float = Field(
        0.5, gt=0, description="How often a replica looks for due tenants"
    )
    max_concurrent_polls: int = Field(
        8, ge=1, description="Tenants one replica polls at the same time"
    )
