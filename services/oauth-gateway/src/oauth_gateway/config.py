"""Settings of oauth-gateway, read once in main() from QBSYNC_* environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from qbsync_common.settings import ServiceSettings

# Development-only key ring (a well-known key: never protects real tokens; refused elsewhere).
DEV_TOKEN_KEYS = (
    '{"keys": {"dev": "ZGV2LW9ubHkta2V5LW5vdC1mb3ItcmVhbC10b2tlbnM="}, "primary": "dev"}'
)

# Development-only link signing key (part A); refused outside development like DEV_TOKEN_KEYS.
DEV_CONNECT_SIGNING_KEY = "qbsync-dev-connect-signing-key"


class Settings(ServiceSettings):
    service_name: str = Field(
        "oauth-gateway", description="Name used in logs, traces, metrics and queues"
    )
    http_port: int = Field(8080, description="Port of the service's HTTP server")
    internal_http_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Port serving only the internal token and settings APIs (/internal/v1) for "
        "qbsync services, so a NetworkPolicy can admit only them to it; unset = those routes "
        "are served on http_port with everything else (development)",
    )

    # -- token custody (part B) ------------------------------------------------------------------
    intuit_discovery_url: str = Field(
        "http://127.0.0.1:8090/.well-known/openid_configuration",
        description="Intuit OpenID discovery document (production: "
        "https://developer.api.intuit.com/.well-known/openid_configuration); dev: the emulator",
    )
    intuit_client_id: str = Field("qbsync-dev", description="Intuit app client id")
    intuit_client_secret: SecretStr = Field(
        SecretStr("qbsync-dev-secret"), description="Intuit app client secret"
    )
    intuit_redirect_uri: str = Field(
        "http://127.0.0.1:8080/oauth/callback",
        description="The gateway's public /oauth/callback URL, registered on the Intuit app",
    )
    intuit_timeout_s: float = Field(
        10.0, description="Timeout of calls to Intuit's token endpoint (a refresh holds a row lock)"
    )
    qbo_api_base_url: str = Field(
        "http://127.0.0.1:8090",
        description="QBO Accounting API base URL handed to services (production: "
        "https://quickbooks.api.intuit.com); dev: the emulator",
    )
    token_keys: SecretStr = Field(
        SecretStr(DEV_TOKEN_KEYS),
        description='Token encryption key ring, JSON {"keys": {"k1": "<base64 32 bytes>"}, '
        '"primary": "k1"}; the embedded default is refused outside development',
    )
    service_credentials: SecretStr = Field(
        SecretStr("{}"),
        description='Internal token API credentials, JSON {"<service>": "<secret, 16+ chars>"}',
    )
    token_refresh_margin_s: int = Field(
        300, ge=0, description="Refresh an access token this many seconds before it expires"
    )
    token_cache_ttl_s: float = Field(
        30.0, ge=0, description="Seconds a decrypted access token stays in the in-memory cache"
    )
    token_max_refresh_age_days: int = Field(
        30, ge=1, description="Background job refreshes tenants whose last refresh is this old"
    )
    token_hard_expiry_warning_days: int = Field(
        60, ge=1, description="Emit TenantRefreshTokenExpiring this many days before hard expiry"
    )
    token_refresh_interval_s: float = Field(
        300.0, gt=0, description="Seconds between rounds of the background refresh job"
    )
    token_failure_backoff_s: float = Field(
        60.0, ge=0, description="After a transient refresh failure, wait this long before retrying"
    )

    # -- tenants, connect flow, operator API, webhooks (part A) ---------------------------------
    public_base_url: str = Field(
        "http://127.0.0.1:8080",
        description="Public base URL of the gateway's browser pages; connect links start with it",
    )
    operator_api_keys: SecretStr = Field(
        SecretStr(""),
        description="Comma-separated operator API keys installed at start (stored as SHA-256 only)",
    )
    connect_signing_key: SecretStr = Field(
        SecretStr(DEV_CONNECT_SIGNING_KEY),
        description="HMAC key signing connect/disconnect links (32+ random bytes in production)",
    )
    webhook_verifier_token: SecretStr = Field(
        SecretStr(""),
        description="Intuit webhook verifier token (app's Webhooks page); empty = reject all",
    )

    @model_validator(mode="after")
    def _refuse_dev_connect_key(self) -> Settings:
        if self.environment != "development" and (
            self.connect_signing_key.get_secret_value() == DEV_CONNECT_SIGNING_KEY
        ):
            raise ValueError("QBSYNC_CONNECT_SIGNING_KEY must be set outside development")
        return self

    @model_validator(mode="after")
    def _internal_port_is_its_own(self) -> Settings:
        if self.internal_http_port is not None and self.internal_http_port == self.http_port:
            raise ValueError("QBSYNC_INTERNAL_HTTP_PORT must differ from QBSYNC_HTTP_PORT")
        return self

    def operator_keys(self) -> list[str]:
        return [
            k.strip() for k in self.operator_api_keys.get_secret_value().split(",") if k.strip()
        ]

    @model_validator(mode="after")
    def _refuse_dev_token_keys(self) -> Settings:
        if self.environment != "development" and (
            self.token_keys.get_secret_value() == DEV_TOKEN_KEYS
        ):
            raise ValueError("QBSYNC_TOKEN_KEYS must be set outside development")
        return self
