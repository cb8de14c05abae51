"""Alembic environment of invoice-sync: its own history in its own schema."""

from invoice_sync.bootstrap import METADATA
from qbsync_common.migrations import run_env

run_env(METADATA)
