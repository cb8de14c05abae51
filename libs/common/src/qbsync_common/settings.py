"""Settings every qbsync service shares, read from QBSYNC_* environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qbsync_common.redaction import redact_text

# Values people paste from examples; outside development they mean "somebody forgot to set this".
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "placeholder", "secret", "password", "todo", "xxx"}
)
# The local broker and database a developer runs (RabbitMQ's guest user, trust auth): built in so
# that `make run` needs no configuration, and as much a placeholder as "changeme" anywhere else.
DEV_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEV_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/qbsync"


class ServiceSettings(BaseSettings):
    """Base settings: each service subclasses it and sets its own `service_name` and `http_port`."""

    model_config = SettingsConfigDict(env_prefix="QBSYNC_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = Field(
        "development", description="development enables embedded defaults; production refuses them"
    )
    service_name: str = Field("qbsync", description="Name used in logs, traces, metrics and queues")
    broker_url: SecretStr = Field(
        SecretStr(DEV_BROKER_URL),
        description="RabbitMQ AMQP URL; the local development default is refused outside development",
    )
    database_url: SecretStr = Field(
        SecretStr(DEV_DATABASE_URL),
        description="PostgreSQL URL (SQLAlchemy asyncpg form); the local development default is "
        "refused outside development",
    )
    otel_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318; unset = no export",
    )
    log_level: str = Field("INFO", description="Python log level")
    http_host: str = Field("127.0.0.1", description="Address the health/metrics/API server binds")
    http_port: int = Field(8000, description="Port of the service's HTTP server")
    prefetch: int = Field(64, ge=1, le=2000, description="Unacknowledged deliveries per consumer")
    tenant_max_in_flight: int = Field(
        4,
        ge=0,
        description="Events of one tenant a consumer handles at once; a tenant's further events "
        "wait in the held table so that other tenants' events never queue behind its flood "
        "(0 = no limit). Keep it below invoice-sync's document concurrency",
    )
    db_pool_size: int = Field(
        8,
        ge=1,
        description="PostgreSQL connections each process keeps; (pool + overflow) times the "
        "replicas of every service must fit the server's max_connections",
    )
    db_max_overflow: int = Field(
        8, ge=0, description="Extra PostgreSQL connections a process may open under load"
    )
    max_attempts: int = Field(
        8, ge=1, description="Deliveries of a transiently failing event before it is parked"
    )
    retry_delays_ms: tuple[int, ...] = Field(
        (1_000, 5_000, 30_000, 60_000, 300_000),
        description="Retry delay tiers in ms (JSON list); attempt n waits tier min(n-1, last)",
    )
    shutdown_grace_s: float = Field(
        20.0, description="Seconds in-flight handlers get to finish after SIGTERM"
    )

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> ServiceSettings:
        if self.environment == "development":
            return self
        for name, value in self:
            if isinstance(value, SecretStr) and value.get_secret_value().strip().lower() in (
                PLACEHOLDER_SECRETS
            ):
                raise ValueError(
                    f"QBSYNC_{name.upper()} must be set to a real value in {self.environment}"
                )
        for name, dev_value in (("broker_url", DEV_BROKER_URL), ("database_url", DEV_DATABASE_URL)):
            if getattr(self, name).get_secret_value() == dev_value:
                raise ValueError(
                    f"QBSYNC_{name.upper()} must be set to a real value in {self.environment}: "
                    f"it is the local development default {redact_text(dev_value)}"
                )
        return self
