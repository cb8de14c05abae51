"""Alembic environment of partner-sync: its own history in its own schema."""

from qbsync_common.migrations import run_env

from partner_sync.bootstrap import METADATA

run_env(METADATA)
