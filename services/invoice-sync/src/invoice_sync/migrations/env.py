"""Alembic environment of invoice-sync: its own history in its own schema."""

from qbsync_common.migrations import run_env

from invoice_sync.bootstrap import METADATA

run_env(METADATA)
