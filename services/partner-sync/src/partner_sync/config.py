"""Settings of partner-sync, read once in main() from QBSYNC_* environment variables."""

from __future__ import annotations

from pydantic import Field

from qbsync_common.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = Field(
        "partner-sync", description="Name used in logs, traces, metrics and queues"
    )
    http_port: int = Field(8081, description="Port of the service's HTTP server")
