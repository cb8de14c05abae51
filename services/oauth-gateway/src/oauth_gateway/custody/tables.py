"""The `tokens` table: one row per connected tenant, token columns encrypted (revision 0003)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, Text


def tokens_table(metadata: MetaData) -> Table:
    existing = metadata.tables.get(f"{metadata.schema}.tokens")
    if existing is not None:  # build() may run more than once per process (tests, `rekey`)
        return existing
    # The foreign key to tenants lives in the migration only, so this module does not depend on
    # part A's table objects.
    return Table(
        "tokens",
        metadata,
        Column("tenant_id", Text, primary_key=True),
        Column("realm_id", Text, nullable=False),
        Column("access_token_ct", Text, nullable=False),
        Column("access_expires_at", DateTime(timezone=True), nullable=False),
        Column("refresh_token_ct", Text, nullable=False),
        Column("refresh_expires_at", DateTime(timezone=True), nullable=False),
        Column("refresh_hard_expires_at", DateTime(timezone=True)),
        Column("refreshed_at", DateTime(timezone=True), nullable=False),
        Column("generation", BigInteger, nullable=False),
        Column("last_failure_at", DateTime(timezone=True)),
        Column("failure_count", Integer, nullable=False, server_default="0"),
        Column("reauth_required_at", DateTime(timezone=True)),
        Column("expiry_warned_at", DateTime(timezone=True)),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
