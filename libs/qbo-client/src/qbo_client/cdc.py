"""Change Data Capture: response parsing, the 30-day and 1000-object rules, and the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from qbo_client.models.base import QBOEntity

CDC_MAX_LOOKBACK = timedelta(days=30)
CDC_OBJECT_CAP = 1000
# Stay clear of the 30-day edge: QBO's clock and ours differ, and the call takes time.
LOOKBACK_SAFETY = timedelta(hours=1)
# When QBO's answer carries no usable ``time``, the checkpoint comes from our own clock, read
# before the call and moved back by this much: it must cover the skew between our clock and
# QBO's, because a checkpoint ahead of QBO's clock skips the changes made in between.
# Re-reading a few minutes of changes is harmless (consumers are idempotent); skipping is not.
CLOCK_OVERLAP = timedelta(minutes=5)


@dataclass
class CDCResult:
    """Changes since a point in time, per entity name.

    ``changed`` holds full objects, ``deleted`` the ``status: "Deleted"`` stubs.
    ``time`` is a safe next checkpoint, taken before any data was read: the earliest QBO
    ``time`` of the calls made (CDC calls, or a COUNT call made before the paged queries), or
    when QBO gave none, our clock read before the call minus ``CLOCK_OVERLAP``. ``cdc()``
    always sets it.
    ``queried`` names entities fetched with LastUpdatedTime queries instead of CDC (too old
    for CDC or over its cap): deletions of those may be missing and need reconciliation.
    """

    changed: dict[str, list[QBOEntity]] = field(default_factory=dict)
    deleted: dict[str, list[QBOEntity]] = field(default_factory=dict)
    time: datetime | None = None
    queried: set[str] = field(default_factory=set)

    def merge(self, other: CDCResult) -> None:
        for name, rows in other.changed.items():
            self.changed.setdefault(name, []).extend(rows)
        for name, rows in other.deleted.items():
            self.deleted.setdefault(name, []).extend(rows)
        self.queried |= other.queried
        if other.time is not None and (self.time is None or other.time < self.time):
            self.time = other.time

    def count(self) -> int:
        return sum(map(len, self.changed.values())) + sum(map(len, self.deleted.values()))


def within_lookback(changed_since: datetime, now: datetime) -> bool:
    """Whether CDC may be asked for changes since ``changed_since``."""
    return now - changed_since < CDC_MAX_LOOKBACK - LOOKBACK_SAFETY


def checkpoint(server_time: datetime | None, local_before: datetime) -> datetime:
    """The next checkpoint for a read that started at ``local_before`` (our clock).

    QBO's own ``time`` is preferred: it needs no allowance for clock skew. Either is cut to
    the whole second, because QBO stamps ``LastUpdatedTime`` in whole seconds: a change made
    later in the same second as a ``time`` of ``…:12.496`` is stamped ``…:12`` and would fall
    before an uncut checkpoint.
    """
    at = server_time if server_time is not None else local_before - CLOCK_OVERLAP
    return at.replace(microsecond=0)


def parse_time(value: object) -> datetime | None:
    """QBO's ``time`` field, or None when it is missing or not an ISO timestamp with an offset."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # A naive time cannot be compared with LastUpdatedTime values; treat it as absent.
    return parsed if parsed.tzinfo is not None else None


def parse_cdc(payload: Any, types: Sequence[type[QBOEntity]]) -> CDCResult:
    """Parse ``{"CDCResponse":[{"QueryResponse":[{"Customer":[...]}, ...]}], "time": ...}``."""
    by_name = {t.ENTITY: t for t in types}
    result = CDCResult(time=parse_time(payload.get("time")) if isinstance(payload, dict) else None)
    responses = payload.get("CDCResponse", []) if isinstance(payload, dict) else []
    for response in responses:
        for block in response.get("QueryResponse", []) or []:
            if not isinstance(block, dict):
                continue
            for name, rows in block.items():
                cls = by_name.get(name)
                if cls is None or not isinstance(rows, list):
                    continue  # startPosition, maxResults, totalCount or an entity not asked for
                for raw in rows:
                    obj = cls.model_validate(raw)
                    bucket = result.deleted if obj.deleted else result.changed
                    bucket.setdefault(name, []).append(obj)
    return result
