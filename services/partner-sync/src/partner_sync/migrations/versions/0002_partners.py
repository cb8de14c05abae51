"""Partner state, sync history and the automatch review queue.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from sqlalchemy import MetaData

from partner_sync.adapters.tables import partner_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "partner_sync"


def upgrade() -> None:
    tables = partner_tables(MetaData(schema=SCHEMA))
    bind = op.get_bind()
    for table in (tables.partners, tables.history, tables.proposals):
        table.create(bind)


def downgrade() -> None:
    for name in ("automatch_proposals", "partner_history", "partners"):
        op.drop_table(name, schema=SCHEMA)
