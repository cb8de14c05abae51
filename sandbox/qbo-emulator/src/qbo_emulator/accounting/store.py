"""In-memory state of every realm: records as plain dicts, indexes, deleted stubs, replay cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from qbo_emulator.accounting.catalogue import SPECS

Record = dict[str, Any]


@dataclass
class Entry:
    """One stored object; `updated` is kept as a datetime so CDC and queries need no parsing."""

    data: Record
    updated: datetime
    deleted: bool = False


@dataclass
class StoredResponse:
    status: int
    body: bytes
    media_type: str


@dataclass
class Realm:
    realm_id: str
    company_name: str
    country: str = "US"
    home_currency: str = "USD"
    multicurrency: bool = False
    tz: timezone = timezone(timedelta(hours=-8))
    entries: dict[str, dict[str, Entry]] = field(default_factory=dict)
    next_id: int = 1
    # lower-cased DisplayName -> (entity, id) across Customer/Vendor/Employee, inactive included
    people_names: dict[str, tuple[str, str]] = field(default_factory=dict)
    # entity -> lower-cased unique name -> id (Item/Account/Term)
    list_names: dict[str, dict[str, str]] = field(default_factory=dict)
    # entity -> DocNumber -> id
    doc_numbers: dict[str, dict[str, str]] = field(default_factory=dict)
    next_doc_number: int = 1001
    replay: dict[str, StoredResponse] = field(default_factory=dict)
    # Ids created by the batch being executed: invisible to the batch's later items.
    hidden: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for name in SPECS:
            self.entries.setdefault(name, {})
            self.list_names.setdefault(name, {})
            self.doc_numbers.setdefault(name, {})

    def new_id(self) -> str:
        # One counter for the realm keeps ids unique across entities, like QBO's numeric ids.
        value = self.next_id
        self.next_id += 1
        return str(value)

    def get(self, entity: str, entity_id: str) -> Entry | None:
        if self.hidden and entity_id in self.hidden:
            return None
        return self.entries[entity].get(entity_id)

    def live(self, entity: str) -> list[Entry]:
        hidden = self.hidden
        return [
            e
            for e in self.entries[entity].values()
            if not e.deleted and not (hidden and e.data["Id"] in hidden)
        ]

    def stamp(self, at: datetime) -> str:
        return at.astimezone(self.tz).isoformat(timespec="seconds")

    def time(self, at: datetime) -> str:
        return at.astimezone(self.tz).isoformat(timespec="milliseconds")


class Store:
    """All realms by id; the only shared mutable state of the accounting API."""

    def __init__(self) -> None:
        self.realms: dict[str, Realm] = {}

    def add(self, realm: Realm) -> Realm:
        self.realms[realm.realm_id] = realm
        return realm

    def reset(self) -> None:
        self.realms.clear()

    def names(self) -> list[tuple[str, str]]:
        return [(r.realm_id, r.company_name) for r in self.realms.values()]
