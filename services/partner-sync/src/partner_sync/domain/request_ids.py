"""Deterministic QBO requestids: a replayed write after a crash or redelivery reuses its id.

QBO (and the emulator) answer a repeated requestid with the original response, so a create that
reached QBO before we could commit is not made twice. Everything that makes a write distinct goes
into the id; nothing random or time-based does.
"""

from __future__ import annotations

import uuid

# A fixed namespace: ids must be identical across processes, releases and restarts.
NAMESPACE = uuid.UUID("0f9a6a52-52a5-4f0e-9d1c-7c3c1d5b8a11")


def request_id(tenant_id: str, kind: str, record_id: str, operation: str, *parts: object) -> str:
    """36 characters (QBO allows 50); `parts` distinguish writes of one operation."""
    text = "|".join([tenant_id, kind, record_id, operation, *(str(p) for p in parts)])
    return str(uuid.uuid5(NAMESPACE, text))


def create_id(tenant_id: str, kind: str, record_id: str, generation: int, name: str) -> str:
    """`generation` grows when a sync key is dropped, so a re-create is a new write; the name is
    part of it so a disambiguated retry after a duplicate-name refusal is not answered by the
    replay of that refusal."""
    return request_id(tenant_id, kind, record_id, "create", generation, name)


def update_id(
    tenant_id: str, kind: str, record_id: str, version: int, qbo_id: str, sync_token: str
) -> str:
    """One update per (snapshot version, QBO record, record state): a retry replays, a newer
    change does not. The QBO id matters: QBO replays refusals too, so an update refused for a
    vanished record must not share its id with the update of the record adopted instead."""
    return request_id(tenant_id, kind, record_id, "update", version, qbo_id, sync_token)
