"""Everything a handler needs, bound once by bootstrap (or by a test with other adapters)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from invoice_sync.service_layer.ports import BooksFactory
from invoice_sync.service_layer.preflight import CompanyProfiles
from qbsync_common.outbox import Outbox
from qbsync_common.tenant_settings import TenantSettingsSource

SOURCE = "invoice-sync"


@dataclass(frozen=True)
class Context:
    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    books: BooksFactory
    settings: TenantSettingsSource
    profiles: CompanyProfiles
    # (tenant, entity, name) -> QBO id of items and terms: saves a database read per line.
    known_names: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def forget_names(self, tenant_id: str) -> None:
        for key in [k for k in self.known_names if k[0] == tenant_id]:
            del self.known_names[key]
