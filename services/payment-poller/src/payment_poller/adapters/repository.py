"""The poller's storage, one store per concern; every method runs in the caller's transaction."""

from __future__ import annotations

from payment_poller.adapters.ledger_store import LedgerStore
from payment_poller.adapters.schedule_store import Claim, RunStore, ScheduleStore
from payment_poller.adapters.tables import PollerTables


class Repository:
    def __init__(self, tables: PollerTables) -> None:
        self.t = tables
        self.schedule = ScheduleStore(tables)
        self.ledger = LedgerStore(tables)
        self.runs = RunStore(tables)


__all__ = ["Claim", "Repository"]
