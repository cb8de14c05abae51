"""What to do with a partner snapshot, given what we stored about it and the tenant's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from partner_sync.domain.names import PartnerKind, clean_display_name

# The contract's codes (qbsync_common.contract.partner_results), so results need no translation.
SkipReason = Literal[
    "older-version",
    "partner-kind-disabled",
    "contact-type-filtered",
    "inactive",
]
FailReason = Literal["currency-change-refused", "qbo-validation"]


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
    """What partner-sync remembers about a partner.

    `version` is the newest snapshot version handled; `synced_version` the one now in QBO.
    """

    version: int
    sync_key: str | None
    currency: str | None
    synced_version: int | None = None


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


@dataclass(frozen=True)
class AlreadySynced:
    """This very version is already in QBO: answer from what we stored, without calling QBO."""

    sync_key: str


Plan = Skip | Fail | Sync | AlreadySynced


def plan(
    snapshot: Snapshot, stored: Stored | None, settings: PartnerSettings, *, force: bool = False
) -> Plan:
    """`force` (operator resync, reconnect) re-checks QBO even when this version was synced."""
    # Equal versions are not stale: a sync command may carry the snapshot we already hold and
    # still needs its answer. Only strictly older snapshots are refused.
    if stored is not None and snapshot.version < stored.version:
        return Skip("older-version", f"version {snapshot.version} < stored {stored.version}")
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
        return Skip("inactive", "inactive partners are not created in QuickBooks")
    if (
        synced
        and stored is not None
        and stored.currency
        and snapshot.currency
        and snapshot.currency != stored.currency
    ):
        return Fail(
            "currency-change-refused",
            f"QuickBooks keeps a partner's currency once set ({stored.currency}); "
            f"the upstream change to {snapshot.currency} was not sent",
        )
    if (
        not force
        and stored is not None
        and stored.sync_key is not None
        and stored.synced_version == snapshot.version
    ):
        return AlreadySynced(stored.sync_key)
    name = clean_display_name(snapshot.name)
    if not name:
        return Fail("qbo-validation", "the partner's name is empty after cleaning")
    return Sync(display_name=name, active=snapshot.active)
