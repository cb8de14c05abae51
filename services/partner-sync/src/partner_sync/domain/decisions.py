"""What to do with a partner snapshot, given what we stored about it and the tenant's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from partner_sync.domain.names import PartnerKind, clean_display_name

SkipReason = Literal[
    "stale-version",
    "partner-kind-disabled",
    "contact-type-filtered",
    "inactive-not-created",
]
FailReason = Literal["currency-immutable", "empty-name"]


@dataclass(frozen=True)
class Snapshot:
    """The fields of an upstream partner that decide its fate."""

    kind: PartnerKind
    partner_id: str
    version: int
    name: str
    active: bool
    currency: str | None
    contact_type: str | None = None


@dataclass(frozen=True)
class Stored:
    """What partner-sync remembers about a partner."""

    version: int
    sync_key: str | None
    currency: str | None


@dataclass(frozen=True)
class PartnerSettings:
    sync_clients: bool = True
    sync_vendors: bool = True
    contact_types: frozenset[str] = frozenset()  # empty: every contact type


@dataclass(frozen=True)
class Skip:
    reason: SkipReason
    message: str


@dataclass(frozen=True)
class Fail:
    reason: FailReason
    message: str


@dataclass(frozen=True)
class Sync:
    display_name: str
    active: bool


Plan = Skip | Fail | Sync


def plan(snapshot: Snapshot, stored: Stored | None, settings: PartnerSettings) -> Plan:
    if stored is not None and snapshot.version <= stored.version:
        return Skip("stale-version", f"version {snapshot.version} <= stored {stored.version}")
    enabled = settings.sync_clients if snapshot.kind == "client" else settings.sync_vendors
    if not enabled:
        return Skip("partner-kind-disabled", f"the tenant does not sync {snapshot.kind}s")
    if settings.contact_types and snapshot.contact_type not in settings.contact_types:
        return Skip(
            "contact-type-filtered",
            f"contact type {snapshot.contact_type!r} is not among the tenant's synced types",
        )
    synced = stored is not None and stored.sync_key is not None
    if not snapshot.active and not synced:
        return Skip("inactive-not-created", "inactive partners are not created in QuickBooks")
    if (
        synced
        and stored is not None
        and stored.currency
        and snapshot.currency
        and snapshot.currency != stored.currency
    ):
        return Fail(
            "currency-immutable",
            f"QuickBooks keeps a partner's currency once set ({stored.currency}); "
            f"the upstream change to {snapshot.currency} was not sent",
        )
    name = clean_display_name(snapshot.name)
    if not name:
        return Fail("empty-name", "the partner's name is empty after cleaning")
    return Sync(display_name=name, active=snapshot.active)
