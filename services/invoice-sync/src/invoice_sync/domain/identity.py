"""Deterministic ids of our QBO writes: operation ids, requestids and the PrivateNote marker."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

# Fixed forever: changing it would change every requestid and defeat QBO's replay after a deploy.
NAMESPACE = uuid.UUID("6f1f4e0a-3c55-4b8e-9a57-2d3c0c1c7a11")
MARKER_PREFIX = "qbsync-op:"


def operation_id(tenant_id: str, subject: str, record_id: str, generation: int) -> str:
    """One id per attempt to put a record in QBO; a resync by an operator bumps `generation`."""
    return str(uuid.uuid5(NAMESPACE, f"{tenant_id}/{subject}/{record_id}/{generation}"))


def request_id(operation: str, step: str) -> str:
    """QBO requestid of one write of an operation: the same on every retry (36 of 50 chars)."""
    return str(uuid.uuid5(NAMESPACE, f"{operation}/{step}"))


def name_request_id(tenant_id: str, entity: str, name: str) -> str:
    """requestid for creating a name-list entry (Item, Term): one per tenant and name."""
    return str(uuid.uuid5(NAMESPACE, f"{tenant_id}/{entity}/{name}"))


def marker(operation: str) -> str:
    """Put in PrivateNote so a lookup recognises our own write (and the poller ignores it)."""
    return f"{MARKER_PREFIX}{operation}"


def carries_marker(private_note: str | None, operation: str) -> bool:
    return marker(operation) in (private_note or "")


def is_ours(private_note: str | None) -> bool:
    return MARKER_PREFIX in (private_note or "")


def batch_request_id(operations: Sequence[str], step: str) -> str:
    """requestid of one batch: the same items in the same order give the same id, so a retried
    batch replays QBO's answer; any other composition is another batch (QBO maps answers by bId,
    i.e. by position, so a replay must never serve a different list)."""
    return str(uuid.uuid5(NAMESPACE, f"batch/{step}/" + "/".join(operations)))
