"""Alembic environment of payment-poller: its own history in its own schema."""

from qbsync_common.migrations import run_env

from payment_poller.bootstrap import METADATA

run_env(METADATA)
