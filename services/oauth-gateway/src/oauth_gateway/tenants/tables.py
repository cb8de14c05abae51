"""Part A's tables (revision 0002): tenants, links, OAuth states, API keys, settings, webhooks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class TenantTables:
    tenants: Table
    connect_links: Table
    oauth_states: Table
    operator_api_keys: Table
    tenant_settings: Table
    webhook_deliveries: Table


def _ts(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def tenant_tables(metadata: MetaData) -> TenantTables:
    return TenantTables(
        tenants=Table(
            "tenants",
            metadata,
            Column("tenant_id", Text, primary_key=True),
            Column("name", Text, nullable=False),
            Column("state", Text, nullable=False),
            Column("realm_id", Text, unique=True),
            Column("return_url", Text),
            _ts("created_at"),
            _ts("updated_at"),
        ),
        connect_links=Table(
            "connect_links",
            metadata,
            Column("link_id", Text, primary_key=True),
            Column("tenant_id", Text, nullable=False),
            Column("purpose", Text, nullable=False),
            _ts("expires_at"),
            _ts("used_at", nullable=True),
            _ts("created_at"),
        ),
        oauth_states=Table(
            "oauth_states",
            metadata,
            # Only digests: a row read from a dump cannot be replayed as a callback.
            Column("state_sha256", Text, primary_key=True),
            Column("browser_sha256", Text, nullable=False),
            Column("tenant_id", Text, nullable=False),
            Column("expected_realm_id", Text),
            _ts("expires_at"),
            _ts("created_at"),
        ),
        operator_api_keys=Table(
            "operator_api_keys",
            metadata,
            Column("key_sha256", Text, primary_key=True),
            Column("label", Text, nullable=False),
            _ts("created_at"),
            _ts("revoked_at", nullable=True),
        ),
        tenant_settings=Table(
            "tenant_settings",
            metadata,
            Column("tenant_id", Text, primary_key=True),
            Column("version", Integer, nullable=False),
            Column("settings", JSONB, nullable=False),
            _ts("updated_at"),
        ),
        webhook_deliveries=Table(
            "webhook_deliveries",
            metadata,
            Column("dedupe_key", Text, primary_key=True),
            Column("realms", Integer, nullable=False),
            _ts("received_at"),
        ),
    )
