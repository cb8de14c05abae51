"""Settings of invoice-sync, read once in main() from QBSYNC_* environment variables."""

from __future__ import annotations

from pydantic import Field

from qbsync_common.qbo_access import SyncServiceSettings


class Settings(SyncServiceSettings):
    service_name: str = Field(
        "invoice-sync", description="Name used in logs, traces, metrics and queues"
    )
    http_port: int = Field(8082, description="Port of the service's HTTP server")
    document_concurrency: int = Field(
        8, ge=1, le=64, description="Documents processed at once per process (each holds a lock)"
    )
