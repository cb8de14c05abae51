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


@dataclass
class CDCResult:
    """Changes since a point in time, per entity name.

    ``changed`` holds full objects, ``deleted`` the ``status: "Deleted"`` stubs.
    ``time`` is a safe next checkpoint (the earliest server time of the calls made).
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


def parse_cdc(payload: Any, types: Sequence[type[QBOEntity]]) -> CDCResult:
    """Parse ``{"CDCResponse":[{"QueryResponse":[{"Customer":[...]}, ...]}], "time": ...}``."""
    by_name = {t.ENTITY: t for t in types}
    result = CDCResult(time=_parse_time(payload.get("time")) if isinstance(payload, dict) else None)
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


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
