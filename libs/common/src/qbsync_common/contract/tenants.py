"""Events the oauth-gateway publishes about tenants' QuickBooks connections and settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from qbsync_common.contract.bases import InternalEvent, ResultEvent
from qbsync_common.contract.scalars import Identifier

REALM_DESCRIPTION = "The QBO company id (realmId) the tenant is connected to."


class TenantConnected(ResultEvent):
    """A tenant connected (or reconnected) its QuickBooks company through the OAuth flow."""

    event_type = "qbsync.tenant.connected.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "realm_id": "9341453050071234",
                    "connected_at": "2026-03-01T10:00:00Z",
                    "company_name": "Acme Language Services LLC",
                }
            ]
        }
    )

    realm_id: Identifier = Field(description=REALM_DESCRIPTION)
    connected_at: AwareDatetime = Field(description="When the tokens were stored.")
    company_name: str | None = Field(None, description="QBO company name, when known.")


class TenantDisconnected(ResultEvent):
    """A tenant's QuickBooks connection was removed; its tokens are revoked and deleted."""

    event_type = "qbsync.tenant.disconnected.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "realm_id": "9341453050071234",
                    "disconnected_at": "2026-06-30T17:45:00Z",
                    "initiated_by": "operator",
                }
            ]
        }
    )

    realm_id: Identifier = Field(description=REALM_DESCRIPTION)
    disconnected_at: AwareDatetime = Field(description="When the connection was removed.")
    initiated_by: Literal["operator", "tenant", "intuit"] = Field(
        description="operator (operator API), tenant (tenant-facing link) or intuit "
        "(disconnected from the QuickBooks side)."
    )


class TenantReauthorizationRequired(ResultEvent):
    """QuickBooks refused the tenant's refresh token; a tenant admin must reconnect.

    Until then the tenant's sync work fails with reason needs-reauthorization.
    """

    event_type = "qbsync.tenant.reauthorization_required.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "realm_id": "9341453050071234",
                    "reason": "invalid-grant",
                    "detected_at": "2026-04-02T03:12:09Z",
                }
            ]
        }
    )

    realm_id: Identifier = Field(description=REALM_DESCRIPTION)
    reason: Literal["invalid-grant", "refresh-token-expired", "revoked"] = Field(
        description="invalid-grant (Intuit refused the refresh token), refresh-token-expired "
        "(hard expiry reached), revoked (access revoked at Intuit)."
    )
    detected_at: AwareDatetime = Field(description="When the gateway noticed.")


class TenantConnectionRecovered(ResultEvent):
    """A tenant that needed re-authorization works again; its backlog will complete."""

    event_type = "qbsync.tenant.connection_recovered.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"realm_id": "9341453050071234", "recovered_at": "2026-04-02T08:30:00Z"}]
        }
    )

    realm_id: Identifier = Field(description=REALM_DESCRIPTION)
    recovered_at: AwareDatetime = Field(description="When the connection worked again.")


class TenantRefreshTokenExpiring(ResultEvent):
    """The tenant's refresh token reaches its hard (5-year) expiry soon; reconnect before then."""

    event_type = "qbsync.tenant.refresh_token_expiring.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"realm_id": "9341453050071234", "hard_expires_at": "2031-03-01T10:00:00Z"}
            ]
        }
    )

    realm_id: Identifier = Field(description=REALM_DESCRIPTION)
    hard_expires_at: AwareDatetime = Field(
        description="When the refresh token stops working for good "
        "(x_refresh_token_hard_expires_in)."
    )


class TenantSettingsChanged(InternalEvent):
    """A tenant's sync settings changed; services replace their cached copy with this one."""

    event_type = "qbsync.tenant.settings_changed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": 5,
                    "settings": {
                        "sync_clients": True,
                        "sync_vendors": False,
                        "client_invoice_statuses": ["sent"],
                        "payment_poll_interval_seconds": 300,
                    },
                }
            ]
        }
    )

    version: int = Field(
        ge=0, description="Monotonic settings version; an older one never replaces a newer one."
    )
    settings: dict[str, Any] = Field(
        description="The complete settings object, valid against "
        "contracts/tenant-settings.schema.json (published by the oauth-gateway)."
    )


class EntityChange(BaseModel):
    """One QBO entity a webhook reported as changed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1, description="QBO entity name, e.g. Payment, BillPayment.")
    id: Identifier = Field(description="The entity's QBO id.")
    operation: Literal["Create", "Update", "Delete", "Merge", "Void", "Emailed"] = Field(
        description="What happened, as Intuit reports it."
    )
    last_updated: AwareDatetime = Field(description="QBO's lastUpdated time for the change.")


class QboEntitiesChanged(InternalEvent):
    """Intuit's webhook reported changes in a tenant's QBO company (one event per realm)."""

    event_type = "qbsync.qbo.entities_changed.v1"
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "realm_id": "9341453050071234",
                    "entities": [
                        {
                            "name": "Payment",
                            "id": "412",
                            "operation": "Create",
                            "last_updated": "2026-03-20T12:01:44Z",
                        }
                    ],
                }
            ]
        }
    )

    realm_id: Identifier = Field(description=REALM_DESCRIPTION)
    entities: list[EntityChange] = Field(description="The changed entities, in Intuit's order.")
