"""Encrypted OAuth tokens per tenant.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "oauth_gateway"


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "tokens",
        sa.Column(
            "tenant_id",
            sa.Text,
            sa.ForeignKey(f"{SCHEMA}.tenants.tenant_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("realm_id", sa.Text, nullable=False),
        sa.Column("access_token_ct", sa.Text, nullable=False),
        sa.Column("access_expires_at", ts, nullable=False),
        sa.Column("refresh_token_ct", sa.Text, nullable=False),
        sa.Column("refresh_expires_at", ts, nullable=False),
        sa.Column("refresh_hard_expires_at", ts),
        sa.Column("refreshed_at", ts, nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("last_failure_at", ts),
        sa.Column("failure_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reauth_required_at", ts),
        sa.Column("expiry_warned_at", ts),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        schema=SCHEMA,
    )
    # The background job scans by refresh age; keep that scan cheap with thousands of tenants.
    op.create_index("tokens_refreshed_at", "tokens", ["refreshed_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("tokens", schema=SCHEMA)
