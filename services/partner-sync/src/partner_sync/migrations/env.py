"""Alembic environment of partner-sync: its own history in its own schema."""

from partner_sync.bootstrap import METADATA
from qbsync_common.migrations import run_env

run_env(METADATA)
