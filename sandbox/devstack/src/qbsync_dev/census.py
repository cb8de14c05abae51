"""Counts a workload's effects in an emulated QuickBooks company: each record must exist once.

Reads the emulator's admin API (every record of an entity); the system tests assert on what it
finds and the system benchmark reports it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from qbsync_dev.workload import TenantLoad


@dataclass(frozen=True)
class Census:
    """Per entity: the workload's records that are missing, and those present more than once."""

    missing: dict[str, list[str]] = field(default_factory=dict)
    duplicated: dict[str, dict[str, int]] = field(default_factory=dict)
    # (entity, name) -> MetaData.CreateTime of the workload's records found (the earliest one
    # of a duplicate): when the record reached QuickBooks, for publish-to-QBO latency.
    created: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return not any(self.missing.values()) and not any(self.duplicated.values())

    def describe(self) -> str:
        parts = [f"{e} missing {v[:5]}… ({len(v)})" for e, v in self.missing.items() if v]
        parts += [
            f"{e} duplicated {dict(list(v.items())[:5])}" for e, v in self.duplicated.items() if v
        ]
        return "; ".join(parts) or "every record exactly once"


async def records(
    client: httpx.AsyncClient, emulator_url: str, realm_id: str, entity: str
) -> list[dict[str, Any]]:
    answer = await client.get(f"{emulator_url}/_emulator/companies/{realm_id}/records/{entity}")
    answer.raise_for_status()
    return list(answer.json()["records"])


async def take_census(
    client: httpx.AsyncClient, emulator_url: str, realm_id: str, load: TenantLoad
) -> Census:
    wanted = {
        ("Customer", "DisplayName"): load.customers,
        ("Vendor", "DisplayName"): load.vendors,
        ("Invoice", "DocNumber"): load.invoice_numbers,
        ("Bill", "DocNumber"): load.bill_numbers,
        ("Payment", "PaymentRefNum"): load.payment_refs,
    }
    missing: dict[str, list[str]] = {}
    duplicated: dict[str, dict[str, int]] = {}
    created: dict[tuple[str, str], str] = {}
    for (entity, field_name), names in wanted.items():
        found: Counter[str] = Counter()
        stamps: dict[str, list[str]] = {}
        for record in await records(client, emulator_url, realm_id, entity):
            name = str(record.get(field_name))
            found[name] += 1
            stamp = record.get("MetaData", {}).get("CreateTime")
            if stamp:
                stamps.setdefault(name, []).append(str(stamp))
        missing[entity] = [n for n in names if found[n] == 0]
        duplicated[entity] = {n: found[n] for n in names if found[n] > 1}
        created |= {(entity, n): min(stamps[n]) for n in names if n in stamps}
    return Census(missing, duplicated, created)
