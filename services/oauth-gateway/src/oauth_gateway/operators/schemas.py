"""Request and response bodies of the operator API (they define its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from oauth_gateway.settings_schema import TenantSettings

# Re-exported: the operator routes and their tests import the pattern from here.
from oauth_gateway.tenants.model import TENANT_ID_PATTERN as TENANT_ID_PATTERN
from oauth_gateway.tenants.model import TenantState

# PostgreSQL text cannot hold NUL: refuse it here (422) rather than fail in the INSERT (500).
NO_NUL_PATTERN = r"^[^\x00]*$"


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=TENANT_ID_PATTERN, description="Upstream's id of the tenant")
    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=NO_NUL_PATTERN,
        description="Shown on the connect page",
    )
    return_url: AnyHttpUrl | None = Field(
        None, description="Where the browser goes after connecting, with qbsync_outcome added"
    )


class TenantView(BaseModel):
    tenant_id: str
    name: str
    state: TenantState = Field(description="Connection state")
    realm_id: str | None = Field(description="The bound QuickBooks company, if any")
    return_url: str | None
    created_at: datetime
    updated_at: datetime
    reconnect_url: str | None = Field(
        None, description="Re-authorization entry point, set while the state needs it"
    )


class TenantPage(BaseModel):
    items: list[TenantView]
    next_after: str | None = Field(description="Pass as `after` for the next page; null = last")


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Literal["connect", "disconnect"] = Field(
        "connect", description="connect (also reconnects) or a tenant-facing disconnect"
    )
    ttl_seconds: int = Field(3600, ge=60, le=7 * 24 * 3600, description="How long the link works")


class LinkView(BaseModel):
    url: str = Field(description="Single-use URL to give the tenant's admin")
    expires_at: datetime


class SettingsView(BaseModel):
    tenant_id: str
    version: int = Field(description="0 = defaults never changed; each change adds 1")
    settings: TenantSettings


class ErrorView(BaseModel):
    detail: str


def holds_nul(value: Any) -> bool:
    """Whether any string inside a JSON-like value contains NUL (PostgreSQL JSONB refuses it)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False
