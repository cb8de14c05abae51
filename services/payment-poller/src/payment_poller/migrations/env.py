"""Alembic environment of payment-poller: its own history in its own schema."""

from payment_poller.bootstrap import METADATA
from qbsync_common.migrations import run_env

run_env(METADATA)
