"""Webhook notifications (QBO.md §6): batched per app, legacy or CloudEvents, signed, retried.

The accounting core calls `notify` on every change. Each app that has a webhook URL, a verifier
token and a live grant on the realm gets the change queued; every `flush_interval_seconds` the
queue becomes one delivery per app, POSTed with `intuit-signature` = base64(HMAC-SHA256(verifier
token, raw body)). One app's deliveries go out in order: while the oldest keeps failing (non-2xx,
no answer within 3 s, connection error) newer ones wait behind it, as Intuit says ("You may not
receive subsequent events ... until you correctly acknowledge the first"). Retries follow §6.4
(10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h, 6 h, then every 6 h) times `retry_scale`, timed by the
emulator Clock, so a test can scale the schedule down or `Clock.advance` past a retry.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from qbo_emulator.clock import Clock
from qbo_emulator.oauth import OAuthServer
from qbo_emulator.oauth.apps import App

RETRY_SCHEDULE_SECONDS = (10, 20, 30, 300, 1200, 7200, 14400, 21600)
HISTORY_PER_APP = 500  # delivered notifications kept for the admin API; older ones are dropped

# QBO.md §6.1: the entities a webhook subscription can name; others (CompanyInfo ...) never notify.
WEBHOOK_ENTITIES = frozenset(
    {
        "Account",
        "Bill",
        "BillPayment",
        "Budget",
        "Class",
        "CreditMemo",
        "Currency",
        "Customer",
        "Department",
        "Deposit",
        "Employee",
        "Estimate",
        "Invoice",
        "Item",
        "JournalCode",
        "JournalEntry",
        "Payment",
        "PaymentMethod",
        "Preferences",
        "Purchase",
        "PurchaseOrder",
        "RefundReceipt",
        "SalesReceipt",
        "TaxAgency",
        "Term",
        "TimeActivity",
        "Transfer",
        "Vendor",
        "VendorCredit",
    }
)
_CLOUDEVENT_VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Merge": "merged",
    "Void": "voided",
    "Emailed": "emailed",
}


@dataclass(frozen=True)
class Change:
    realm_id: str
    entity: str
    entity_id: str
    operation: str
    at: datetime


def signature(verifier_token: str, body: bytes) -> str:
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _utc_millis(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def legacy_payload(changes: list[Change]) -> dict[str, Any]:
    """One notification may hold several realms (§6.2); entities keep their occurrence order."""
    by_realm: dict[str, list[dict[str, str]]] = {}
    for change in changes:
        by_realm.setdefault(change.realm_id, []).append(
            {
                "name": change.entity,
                "id": change.entity_id,
                "operation": change.operation,
                "lastUpdated": _utc_millis(change.at),
            }
        )
    return {
        "eventNotifications": [
            {"realmId": realm, "dataChangeEvent": {"entities": entities}}
            for realm, entities in by_realm.items()
        ]
    }


def cloudevents_payload(changes: list[Change], client_id: str) -> list[dict[str, Any]]:
    """CloudEvents 1.0 batch (§6.3): a JSON array, one event per change."""
    source_hash = base64.b64encode(hashlib.sha256(client_id.encode()).digest()).decode()
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": f"intuit.{source_hash}",
            "type": f"qbo.{c.entity.lower()}.{_CLOUDEVENT_VERBS.get(c.operation, 'updated')}.v1",
            "datacontenttype": "application/json",
            "time": _utc_millis(c.at),
            "intuitentityid": c.entity_id,
            "intuitaccountid": c.realm_id,
            "data": {},
        }
        for c in changes
    ]


@dataclass
class Attempt:
    at: datetime
    status: int | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "status": self.status, "error": self.error}


@dataclass
class Delivery:
    delivery_id: str
    client_id: str
    url: str
    format: str
    body: bytes
    headers: dict[str, str]
    events: int
    created_at: datetime
    next_attempt_at: datetime
    state: str = "pending"  # pending -> delivered, or retrying until it succeeds
    attempts: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        try:
            payload: Any = json.loads(self.body)
        except ValueError:
            payload = None
        return {
            "delivery_id": self.delivery_id,
            "client_id": self.client_id,
            "url": self.url,
            "format": self.format,
            "state": self.state,
            "events": self.events,
            "created_at": self.created_at.isoformat(),
            "next_attempt_at": None
            if self.state == "delivered"
            else self.next_attempt_at.isoformat(),
            "signature": self.headers["intuit-signature"],
            "payload": payload,
            "attempts": [a.to_json() for a in self.attempts],
        }


def build_delivery(app: App, changes: list[Change], now: datetime) -> Delivery:
    # Only apps with webhooks configured ever get changes queued (OAuthServer.connected_apps).
    assert app.webhook_url is not None
    assert app.webhook_verifier_token is not None
    payload: Any
    if app.webhook_format == "cloudevents":
        payload = cloudevents_payload(changes, app.client_id)
    else:
        payload = legacy_payload(changes)
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json; charset=utf-8",
        "intuit-signature": signature(app.webhook_verifier_token, body),
        "intuit-created-time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z"),
        "intuit-t-id": str(uuid.uuid4()),
        "intuit-notification-schema-version": "0.1",
        "user-agent": "intuit_notification_server/0.1",
    }
    return Delivery(
        delivery_id=uuid.uuid4().hex,
        client_id=app.client_id,
        url=app.webhook_url,
        format=app.webhook_format,
        body=body,
        headers=headers,
        events=len(changes),
        created_at=now,
        next_attempt_at=now,
    )


def retry_delay(failures: int, scale: float) -> timedelta:
    step = RETRY_SCHEDULE_SECONDS[min(failures, len(RETRY_SCHEDULE_SECONDS)) - 1]
    return timedelta(seconds=step * scale)


class WebhookDispatcher:
    """Collects changes from `notify`; a background task (see `start`) delivers them."""

    def __init__(
        self,
        oauth: OAuthServer,
        clock: Clock,
        *,
        flush_interval_seconds: float = 1.0,
        retry_scale: float = 1.0,
        timeout_seconds: float = 3.0,
    ) -> None:
        self._oauth = oauth
        self._clock = clock
        self.flush_interval_seconds = flush_interval_seconds
        self.retry_scale = retry_scale
        self.timeout_seconds = timeout_seconds
        # notify may run in a worker thread (sync route handlers): the buffer is shared state.
        self._lock = threading.Lock()
        self._buffer: dict[str, list[Change]] = {}
        self._queues: dict[str, deque[Delivery]] = {}
        self._history: dict[str, deque[Delivery]] = {}
        self._flushing = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        oauth.webhooks = self

    # ----- producer side -------------------------------------------------------------------------
    def notify(
        self, realm_id: str, entity: str, entity_id: str, operation: str, at: datetime
    ) -> None:
        if entity not in WEBHOOK_ENTITIES:
            return
        apps = self._oauth.connected_apps(realm_id)
        if not apps:
            return
        change = Change(realm_id, entity, str(entity_id), operation, at)
        with self._lock:
            for app in apps:
                self._buffer.setdefault(app.client_id, []).append(change)

    # ----- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        self._client = httpx.AsyncClient(timeout=self.timeout_seconds, follow_redirects=False)
        self._task = asyncio.create_task(self._run(), name="qbo-emulator-webhooks")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def reset(self) -> None:
        with self._lock:
            self._buffer.clear()
        self._queues.clear()
        self._history.clear()

    # ----- admin ---------------------------------------------------------------------------------
    def deliveries(self, client_id: str | None) -> list[dict[str, Any]]:
        found: list[Delivery] = []
        for source in (self._history, self._queues):
            for owner, items in source.items():
                if client_id is None or owner == client_id:
                    found.extend(items)
        return [d.to_json() for d in sorted(found, key=lambda d: d.created_at)]

    def pending(self) -> dict[str, int]:
        """Changes waiting for the next flush, per client_id."""
        with self._lock:
            return {client_id: len(changes) for client_id, changes in self._buffer.items()}

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        for key in ("flush_interval_seconds", "retry_scale", "timeout_seconds"):
            if key in settings:
                setattr(self, key, float(settings[key]))
        return {
            "flush_interval_seconds": self.flush_interval_seconds,
            "retry_scale": self.retry_scale,
            "timeout_seconds": self.timeout_seconds,
        }

    async def flush(self) -> int:
        """Turns buffered changes into deliveries and sends every delivery that is due."""
        async with self._flushing:
            now = self._clock.now()
            with self._lock:
                buffered, self._buffer = self._buffer, {}
            for client_id, changes in buffered.items():
                app = self._oauth.apps.get(client_id)
                if app is not None and app.webhooks_enabled():
                    self._queues.setdefault(client_id, deque()).append(
                        build_delivery(app, changes, now)
                    )
            sent = await asyncio.gather(*(self._drain(q) for q in list(self._queues.values())))
            return sum(sent)

    # ----- internals -----------------------------------------------------------------------------
    async def _run(self) -> None:
        last_flush = 0.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(0.1, self.flush_interval_seconds))
            # Retries are due by Clock time, so check them often; new batches wait for the interval.
            if loop.time() - last_flush >= self.flush_interval_seconds or self._retry_due():
                last_flush = loop.time()
                try:
                    await self.flush()
                except Exception:  # the emulator must outlive any delivery bug
                    continue

    def _retry_due(self) -> bool:
        now = self._clock.now()
        return any(
            q and q[0].state == "retrying" and q[0].next_attempt_at <= now
            for q in self._queues.values()
        )

    async def _drain(self, queue: deque[Delivery]) -> int:
        sent = 0
        while queue and queue[0].next_attempt_at <= self._clock.now():
            delivery = queue[0]
            sent += 1
            if not await self._attempt(delivery):
                failures = len(delivery.attempts)
                delivery.state = "retrying"
                delivery.next_attempt_at = self._clock.now() + retry_delay(
                    failures, self.retry_scale
                )
                break
            delivery.state = "delivered"
            queue.popleft()
            history = self._history.setdefault(delivery.client_id, deque(maxlen=HISTORY_PER_APP))
            history.append(delivery)
        return sent

    async def _attempt(self, delivery: Delivery) -> bool:
        client = self._client or httpx.AsyncClient(timeout=self.timeout_seconds)
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(
                delivery.url,
                content=delivery.body,
                headers=delivery.headers,
                timeout=self.timeout_seconds,
            )
            status = response.status_code
        except Exception as exc:  # a bad URL or a dead receiver is the receiver's problem, not ours
            error = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            if client is not self._client:
                await client.aclose()
        delivery.attempts.append(Attempt(self._clock.now(), status, error))
        return status is not None and 200 <= status < 300
