"""Settings of payment-poller, read once in main() from QBSYNC_* environment variables."""

from __future__ import annotations

from pydantic import Field

from qbsync_common.qbo_access import SyncServiceSettings


class Settings(SyncServiceSettings):
    service_name: str = Field(
        "payment-poller", description="Name used in logs, traces, metrics and queues"
    )
    http_port: int = Field(8083, description="Port of the service's HTTP server")
    default_poll_interval_s: int = Field(
        900, ge=1, description="Poll interval until the tenant's settings say otherwise"
    )
    poll_overlap_s: float = Field(
        300.0, ge=0, description="CDC window starts this long before the cursor (clock skew)"
    )
    # Short, because a live poll renews it every third of it: what it bounds is how long the
    # tenants of a crashed replica wait (120 s held a tenant's payments two minutes after a kill).
    poll_lease_s: float = Field(
        30.0, gt=0, description="A claimed poll lapses after this long (crashed replica)"
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
