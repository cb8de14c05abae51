"""Handling one Intuit webhook delivery: authenticate, de-duplicate, publish per realm."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from oauth_gateway.tenants.events import TenantEventSink
from oauth_gateway.tenants.metrics import TenantMetrics
from oauth_gateway.tenants.repository import TenantRepository
from oauth_gateway.webhooks.payload import MalformedPayload, changes_by_realm
from oauth_gateway.webhooks.signature import is_authentic

log = logging.getLogger(__name__)

# Event ids derive from (delivery, realm): a redelivery that slips past our dedupe table still
# carries the same event id, so consumers' inboxes drop it.
_EVENT_NAMESPACE = uuid.UUID("5b8f9a52-52f1-4d5e-8b0f-6f0c3f1f7a01")


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"


class WebhookReceiver:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        repository: TenantRepository,
        events: TenantEventSink,
        verifier_token: str,
        metrics: TenantMetrics,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._repo = repository
        self._events = events
        self._verifier = verifier_token
        self._metrics = metrics
        self._clock = clock

    async def receive(self, body: bytes, signature: str | None) -> Outcome:
        outcome = await self._receive(body, signature)
        self._metrics.webhook(outcome.value)
        return outcome

    def too_large(self) -> None:
        """Count a delivery refused (413) before its body was read or authenticated."""
        self._metrics.webhook(Outcome.TOO_LARGE.value)

    async def _receive(self, body: bytes, signature: str | None) -> Outcome:
        # Authenticate the raw bytes before even parsing them: forged bodies cost us one HMAC.
        if not is_authentic(self._verifier, body, signature):
            return Outcome.BAD_SIGNATURE
        try:
            received_at = self._clock()
            changes = changes_by_realm(body, received_at)
        except MalformedPayload as exc:
            # Authentic but unreadable: a retry by Intuit would not help, so acknowledge and log.
            log.error("unreadable Intuit webhook (%d bytes): %s", len(body), exc)
            return Outcome.MALFORMED
        dedupe_key = hashlib.sha256(body).hexdigest()
        async with self._sessions.begin() as session:
            if not await self._repo.first_delivery(session, dedupe_key, len(changes), received_at):
                return Outcome.DUPLICATE
            tenants = await self._repo.by_realm(session, list(changes))
            for realm_id, entities in changes.items():
                tenant_id = tenants.get(realm_id)
                if tenant_id is None:
                    log.warning("webhook for unknown realm %s dropped", realm_id)
                    continue
                event_id = str(uuid.uuid5(_EVENT_NAMESPACE, f"{dedupe_key}:{realm_id}"))
                await self._events.entities_changed(
                    session, tenant_id, realm_id, entities, event_id
                )
        return Outcome.ACCEPTED
