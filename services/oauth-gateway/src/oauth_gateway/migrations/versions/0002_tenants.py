"""Tenants, connect links, OAuth states, operator API keys, tenant settings, webhook deliveries.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "oauth_gateway"


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    tenant_fk = sa.ForeignKey(f"{SCHEMA}.tenants.tenant_id", ondelete="CASCADE")
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        # UNIQUE: one QuickBooks company feeds one tenant's books, never two.
        sa.Column("realm_id", sa.Text, unique=True),
        sa.Column("return_url", sa.Text),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(
            "state IN ('not_connected','connected','needs_reauthorization','disconnected')",
            name="tenants_state_known",
        ),
        schema=SCHEMA,
    )
    op.create_index("tenants_state", "tenants", ["state"], schema=SCHEMA)
    op.create_table(
        "connect_links",
        sa.Column("link_id", sa.Text, primary_key=True),
        sa.Column("tenant_id", sa.Text, tenant_fk, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        _ts("expires_at"),
        _ts("used_at", nullable=True),
        _ts("created_at"),
        schema=SCHEMA,
    )
    op.create_table(
        "oauth_states",
        sa.Column("state_sha256", sa.Text, primary_key=True),
        sa.Column("browser_sha256", sa.Text, nullable=False),
        sa.Column(
            "tenant_id",
            sa.Text,
            sa.ForeignKey(f"{SCHEMA}.tenants.tenant_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("expected_realm_id", sa.Text),
        _ts("expires_at"),
        _ts("created_at"),
        schema=SCHEMA,
    )
    op.create_table(
        "operator_api_keys",
        sa.Column("key_sha256", sa.Text, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        _ts("created_at"),
        _ts("revoked_at", nullable=True),
        schema=SCHEMA,
    )
    op.create_table(
        "tenant_settings",
        sa.Column(
            "tenant_id",
            sa.Text,
            sa.ForeignKey(f"{SCHEMA}.tenants.tenant_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("settings", JSONB, nullable=False),
        _ts("updated_at"),
        schema=SCHEMA,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("dedupe_key", sa.Text, primary_key=True),
        sa.Column("realms", sa.Integer, nullable=False),
        _ts("received_at"),
        schema=SCHEMA,
    )
    op.create_index(
        "webhook_deliveries_received_at", "webhook_deliveries", ["received_at"], schema=SCHEMA
    )


def downgrade() -> None:
    for table in (
        "webhook_deliveries",
        "tenant_settings",
        "operator_api_keys",
        "oauth_states",
        "connect_links",
        "tenants",
    ):
        op.drop_table(table, schema=SCHEMA)
