"""Tenant connection states and the rules of moving between them (pure: no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# Every door a tenant id comes through (operator API, internal APIs) applies this pattern before
# the id reaches a query: ids that could never have been created get a 4xx, and a NUL byte (which
# makes PostgreSQL fail the statement) never turns into a 500.
TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
# Intuit's company ids are decimal numbers; anything else in a callback or reconnect is forged.
REALM_ID_PATTERN = r"^[0-9]{1,32}$"


class TenantState(StrEnum):
    NOT_CONNECTED = "not_connected"
    CONNECTED = "connected"
    NEEDS_REAUTHORIZATION = "needs_reauthorization"
    DISCONNECTED = "disconnected"


HOLDS_REALM = frozenset({TenantState.CONNECTED, TenantState.NEEDS_REAUTHORIZATION})


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    state: TenantState
    realm_id: str | None
    return_url: str | None
    created_at: datetime
    updated_at: datetime


class ConnectRefused(Exception):
    """The connect flow cannot go on; `code` is stable for return URLs, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_realm_id(value: str) -> bool:
    return re.fullmatch(REALM_ID_PATTERN, value) is not None


def expected_realm(tenant: Tenant) -> str | None:
    """The realm a new grant must belong to, or None if the tenant may bind any free realm.

    A tenant that still holds a realm (connected or needing re-authorization) keeps its company:
    granting access to a different company would silently point its books elsewhere.
    """
    return tenant.realm_id


def check_realm(tenant_id: str, realm_id: str, expected: str | None, holder: str | None) -> None:
    """Refuse a realm that belongs to another tenant, or differs from the one being reconnected."""
    if expected is not None and realm_id != expected:
        raise ConnectRefused(
            "realm-mismatch",
            "You authorized a different QuickBooks company than the one this account is "
            "connected to. Reconnect the original company, or disconnect first.",
        )
    if holder is not None and holder != tenant_id:
        raise ConnectRefused(
            "realm-already-bound",
            "This QuickBooks company is already connected to another account.",
        )
