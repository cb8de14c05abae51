"""Settings of partner-sync, read once in main() from QBSYNC_* environment variables."""

from __future__ import annotations

from pydantic import Field

from qbsync_common.qbo_access import SyncServiceSettings


class Settings(SyncServiceSettings):
    service_name: str = Field(
        "partner-sync", description="Name used in logs, traces, metrics and queues"
    )
    http_port: int = Field(8081, description="Port of the service's HTTP server")
    qbo_interactive_wait_s: float = Field(
        1.0,
        description="How long event handling waits for a busy realm's QBO budget before deferring "
        "the partner to the deferred-work job (keeps one tenant's backlog from blocking others)",
    )
    backfill_lease_s: float = Field(
        60.0,
        gt=0,
        description="Lease on a running backfill job, renewed every third of it; when its "
        "replica dies another one resumes the job once the lease expires",
    )
    backfill_poll_s: float = Field(
        5.0, gt=0, description="How often each replica looks for a backfill job to resume"
    )
