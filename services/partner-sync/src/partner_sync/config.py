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
