"""Test world of invoice-sync: a private schema, the real emulator over HTTP, and handlers driven
with real Delivery objects (the broker is exercised separately by the service start test)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from invoice_sync.adapters.tables import METADATA, documents, payments
from invoice_sync.service_layer.context import Context
from qbo_client import AccessToken, UnknownTenant
from qbsync_common.contract.registry import new_event
from qbsync_common.messaging.consumer import Delivery, Handler
from qbsync_common.messaging.errors import DuplicateEvent
from qbsync_common.tables import PlumbingTables, plumbing_tables
from qbsync_common.tenant_settings import StaticTenantSettings

TOKEN = "invoice-sync-test-token"


def tables() -> PlumbingTables:
    """The plumbing tables on invoice-sync's metadata (plumbing_tables is idempotent)."""
    return plumbing_tables(METADATA)


class Tokens:
    """The tenant's QBO token, or UnknownTenant while `connected` is False (a disconnected tenant)."""

    def __init__(self, tenant_id: str, realm_id: str, api_base_url: str) -> None:
        expires = datetime.now(UTC) + timedelta(days=1)
        self.token = AccessToken(TOKEN, realm_id, api_base_url, expires)
        self.tenant_id = tenant_id
        self.connected = True

    async def get_token(self, tenant_id: str, *, failed_token: str | None = None) -> AccessToken:
        if tenant_id != self.tenant_id or not self.connected:
            raise UnknownTenant(f"tenant {tenant_id} is not connected")
        return self.token


class Crashed(Exception):
    """The process "died" at this crash point (World.deliver's `crash_at`)."""


@dataclass
class World:
    ctx: Context
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    plumbing: PlumbingTables
    handlers: dict[str, Handler]
    emulator: str
    realm: str
    tenant: str
    settings: StaticTenantSettings
    tokens: Tokens

    async def deliver(
        self, data: BaseModel, *, event_id: str | None = None, crash_at: str | None = None
    ) -> str:
        """Run the handler of `data` as the consumer would; a duplicate is absorbed like there.
        `crash_at` names a crash point (qbsync_common.faults) where the delivery dies with
        `Crashed`, leaving what a killed process would: its open transaction rolled back."""

        def crash_hook(point: str) -> None:
            if point == crash_at:
                raise Crashed(point)

        envelope = new_event(data, tenant_id=self.tenant, source="upstream", event_id=event_id)
        delivery = Delivery(
            envelope=envelope,
            data=data,
            attempt=1,
            consumer="invoice-sync",
            _sessions=self.sessions,
            _tables=self.plumbing,
            _crash_hook=crash_hook,
        )
        with contextlib.suppress(DuplicateEvent):
            await self.handlers[envelope.type](delivery)
        return envelope.id

    async def results(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Events written to the outbox (in order), optionally of one type."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(self.plumbing.outbox.c.body).order_by(self.plumbing.outbox.c.seq)
            )
            bodies = [json.loads(r[0]) for r in rows]
        return [b for b in bodies if event_type is None or b["type"] == event_type]

    async def document(self, kind: str, doc_id: str) -> dict[str, Any]:
        async with self.sessions() as session:
            row = await session.execute(
                select(documents).where(
                    documents.c.tenant_id == self.tenant,
                    documents.c.document_kind == kind,
                    documents.c.document_id == doc_id,
                )
            )
            found = row.mappings().first()
        assert found is not None, f"no row for {kind} {doc_id}"
        return dict(found)

    async def payment(self, payment_id: str) -> dict[str, Any]:
        async with self.sessions() as session:
            row = await session.execute(
                select(payments).where(
                    payments.c.tenant_id == self.tenant, payments.c.payment_id == payment_id
                )
            )
            found = row.mappings().first()
        assert found is not None
        return dict(found)

    def records(self, entity: str) -> list[dict[str, Any]]:
        """Every record of an entity in the realm, through the emulator's admin API."""
        url = f"{self.emulator}/_emulator/companies/{self.realm}/records/{entity}"
        response = httpx.get(url)
        response.raise_for_status()
        return list(response.json()["records"])

    def record(self, entity: str, qbo_id: str) -> dict[str, Any]:
        """One record (deleted ones too) with its `deleted` flag, from the emulator's admin API."""
        url = f"{self.emulator}/_emulator/companies/{self.realm}/records/{entity}/{qbo_id}"
        response = httpx.get(url)
        response.raise_for_status()
        return dict(response.json())

    def qbo(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A raw QBO API call as a QuickBooks user would make it (outside qbsync)."""
        response = httpx.request(
            method,
            f"{self.emulator}/v3/company/{self.realm}/{path}",
            headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
            **kwargs,
        )
        response.raise_for_status()
        return dict(response.json())

    def faults(self, **settings: Any) -> None:
        url = f"{self.emulator}/_emulator/companies/{self.realm}/faults"
        httpx.put(url, json=settings).raise_for_status()

    def limits(self, **settings: Any) -> None:
        url = f"{self.emulator}/_emulator/companies/{self.realm}/limits"
        httpx.put(url, json=settings).raise_for_status()

    def stats(self) -> dict[str, Any]:
        url = f"{self.emulator}/_emulator/companies/{self.realm}/stats"
        return dict(httpx.get(url).json())

    def customer(self, name: str, currency: str | None = None) -> str:
        body: dict[str, Any] = {"DisplayName": name}
        if currency:
            body["CurrencyRef"] = {"value": currency}
        return str(self.qbo("POST", "customer", json=body)["Customer"]["Id"])

    def item_id(self, name: str) -> str:
        return next(str(i["Id"]) for i in self.records("Item") if i["Name"] == name)

    def vendor(self, name: str) -> str:
        return str(self.qbo("POST", "vendor", json={"DisplayName": name})["Vendor"]["Id"])


async def count_rows(sessions: async_sessionmaker[AsyncSession], sql: str) -> int:
    async with sessions() as session:
        return int((await session.execute(text(sql))).scalar_one())


def money(value: Any) -> Decimal:
    return Decimal(str(value))


Step = Callable[[], Awaitable[None]]
