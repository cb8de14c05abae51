"""Alembic environment of oauth-gateway: its own history in its own schema."""

from qbsync_common.migrations import run_env

from oauth_gateway.bootstrap import METADATA

run_env(METADATA)
