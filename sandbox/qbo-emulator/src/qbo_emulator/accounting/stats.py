"""Per-realm request statistics: calls by endpoint and status, throttled and injected faults."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RealmStats:
    calls: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    throttled: int = 0
    injected: int = 0
    replayed: int = 0

    def record(self, method: str, endpoint: str, status: int) -> None:
        self.calls[(method, endpoint, status)] += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "total": sum(self.calls.values()),
            "throttled": self.throttled,
            "injected_faults": self.injected,
            "replayed": self.replayed,
            "calls": [
                {"method": m, "endpoint": e, "status": s, "count": n}
                for (m, e, s), n in sorted(self.calls.items())
            ],
        }


class Statistics:
    def __init__(self) -> None:
        self.realms: dict[str, RealmStats] = {}

    def of(self, realm_id: str) -> RealmStats:
        stats = self.realms.get(realm_id)
        if stats is None:
            stats = self.realms[realm_id] = RealmStats()
        return stats

    def reset(self) -> None:
        self.realms.clear()
