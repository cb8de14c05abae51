"""Alembic environment of oauth-gateway: its own history in its own schema."""

from oauth_gateway.bootstrap import METADATA
from qbsync_common.migrations import run_env

run_env(METADATA)
