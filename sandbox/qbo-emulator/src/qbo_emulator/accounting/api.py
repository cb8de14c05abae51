"""The `/v3/company/{realmId}/...` HTTP surface: limits, faults, auth, dispatch, replay, render."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from qbo_emulator.accounting import batch, cdc, faults, query
from qbo_emulator.accounting.catalogue import BY_SEGMENT, Kind
from qbo_emulator.accounting.faults import ApiFault
from qbo_emulator.accounting.ledger import Ledger
from qbo_emulator.accounting.limits import Decision, Governor
from qbo_emulator.accounting.render import JSON_TYPE, XML_TYPE, to_json, to_xml, wants_json
from qbo_emulator.accounting.stats import Statistics
from qbo_emulator.accounting.store import Realm, Store, StoredResponse
from qbo_emulator.accounting.transactions import latest_rate
from qbo_emulator.clock import Clock

_log = logging.getLogger(__name__)
REPLAY_LIMIT = 10_000
_HTML_503 = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)


class AuthResult(Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def status(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def detail(self) -> str: ...


Authenticator = Callable[[str | None, str], AuthResult]


class Allowed:
    """The result of an authenticator that let the request through."""

    ok = True
    status = 200
    code = ""
    message = ""
    detail = ""


class Refused:
    def __init__(self, status: int, code: str, message: str, detail: str) -> None:
        self.ok = False
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail


def bearer_only(authorization: str | None, realm_id: str) -> AuthResult:
    """Accept any bearer token (tests, benchmarks); a missing one still gets QBO's 401/3200."""
    if authorization and authorization.lower().startswith("bearer ") and len(authorization) > 8:
        return Allowed()
    return Refused(
        401,
        "3200",
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        "Malformed bearer token: too short or too long",
    )


class DroppedResponse(Response):
    """Start a response, then abort it: the client sees the connection drop mid-reply."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"1000"), (b"content-type", JSON_TYPE.encode())],
            }
        )
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise ConnectionAbortedError("emulator fault injection: response dropped")


class AccountingApi:
    """Wires store, ledger, governors and statistics into one catch-all route."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        ledger: Ledger,
        authenticate: Authenticator = bearer_only,
        max_body_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ledger = ledger
        self.authenticate = authenticate
        self.max_body_bytes = max_body_bytes
        self.governors: dict[str, Governor] = {}
        self.stats = Statistics()

    def governor(self, realm_id: str) -> Governor:
        gov = self.governors.get(realm_id)
        if gov is None:
            gov = self.governors[realm_id] = Governor()
        return gov

    def reset(self) -> None:
        self.governors.clear()
        self.stats.reset()

    def router(self) -> APIRouter:
        router = APIRouter()
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        router.add_route("/v3/company/{realm_id}/{path:path}", self.handle, methods=methods)
        return router

    # ---- request pipeline ------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        realm_id: str = request.path_params["realm_id"]
        path: str = request.path_params["path"]
        params = request.query_params
        as_json = wants_json(request.headers.get("accept"), params.get("format"))
        tid = f"1-{uuid.uuid4().hex[:24]}"
        segment = path.split("/", 1)[0].lower()
        stats = self.stats.of(realm_id)
        gov = self.governors.get(realm_id)
        decision: Decision | None = None
        if gov is not None:
            if gov.active and not gov.admit(self.clock.now().timestamp(), segment == "batch"):
                stats.throttled += 1
                stats.record(request.method, segment, 429)
                return self._raw(
                    faults.throttle_xml(self._time(realm_id)).encode(), 429, XML_TYPE, tid
                )
            decision = gov.decide()
            gov.in_flight += 1
        try:
            response = await self._guarded(request, realm_id, path, segment, as_json, tid, decision)
        finally:
            if gov is not None:
                gov.in_flight -= 1
        stats.record(request.method, segment, response.status_code)
        return response

    async def _guarded(
        self,
        request: Request,
        realm_id: str,
        path: str,
        segment: str,
        as_json: bool,
        tid: str,
        decision: Decision | None,
    ) -> Response:
        gov = self.governors.get(realm_id)
        xml_errors = gov is not None and gov.faults.xml_errors
        if decision is not None:
            if decision.latency:
                await asyncio.sleep(decision.latency)
            if decision.timeout and gov is not None:
                self.stats.of(realm_id).injected += 1
                await asyncio.sleep(gov.faults.timeout_seconds)
                return DroppedResponse()
            if decision.error and gov is not None:
                self.stats.of(realm_id).injected += 1
                if gov.faults.error_status == 503 and gov.faults.html_503:
                    return self._raw(_HTML_503, 503, "text/html", tid)
                fault = faults.system_error(gov.faults.error_status)
                return self._fault(fault, realm_id, as_json and not xml_errors, tid)
        auth = self.authenticate(request.headers.get("authorization"), realm_id)
        if not auth.ok:
            body = faults.auth_envelope(
                auth.code,
                auth.message,
                auth.detail,
                "AUTHENTICATION" if auth.status == 401 else "AUTHORIZATION",
                int(self.clock.now().timestamp() * 1000),
            )
            if xml_errors or not as_json:
                fault = ApiFault(auth.status, auth.code, auth.message, auth.detail, type="SERVICE")
                return self._fault(fault, realm_id, False, tid)
            return self._raw(to_json(body), auth.status, JSON_TYPE, tid)
        realm = self.store.realms.get(realm_id)
        if realm is None:
            return self._fault(faults.unknown_realm(realm_id), realm_id, as_json, tid)
        request_id = request.query_params.get("requestid")
        if request_id:
            stored = realm.replay.get(request_id)
            if stored is not None:
                self.stats.of(realm_id).replayed += 1
                return self._raw(stored.body, stored.status, stored.media_type, tid)
        try:
            status, body = await self._dispatch(request, realm, path, segment)
            payload = to_json(body) if as_json else to_xml(body)
            media = JSON_TYPE if as_json else XML_TYPE
        except ApiFault as fault:
            status = fault.status
            body = {"Fault": fault.body(), "time": realm.time(self.clock.now())}
            use_json = as_json and not xml_errors
            payload = to_json(body) if use_json else fault.xml(body["time"]).encode()
            media = JSON_TYPE if use_json else XML_TYPE
        except Exception:
            # An emulator bug must still look like QBO (a SystemFault), never crash the server.
            _log.exception("unexpected error on %s %s", request.method, request.url.path)
            crash = faults.system_error()
            return self._fault(crash, realm_id, as_json and not xml_errors, tid)
        if request_id and status < 500:
            if len(realm.replay) >= REPLAY_LIMIT:
                realm.replay.pop(next(iter(realm.replay)))
            realm.replay[request_id] = StoredResponse(status, payload, media)
        if decision is not None and decision.drop_after_commit:
            self.stats.of(realm_id).injected += 1
            return DroppedResponse()
        return self._raw(payload, status, media, tid)

    async def _dispatch(
        self, request: Request, realm: Realm, path: str, segment: str
    ) -> tuple[int, dict[str, Any]]:
        method = request.method
        if method not in ("GET", "POST"):
            raise faults.unsupported_operation(f"{method} /v3/company/{realm.realm_id}/{path}")
        params = request.query_params
        parts = [p for p in path.split("/") if p]
        now = self.clock.now()
        if segment == "query":
            text = params.get("query") if method == "GET" else await self._text(request)
            if method == "POST" and not text:
                text = params.get("query", "")
            result = query.run(realm, query.parse(text or ""))
            return 200, {"QueryResponse": result, "time": realm.time(now)}
        if segment == "cdc" and method == "GET":
            changes = cdc.run(realm, params.get("entities"), params.get("changedSince"), now)
            return 200, {"CDCResponse": changes, "time": realm.time(now)}
        if segment == "batch" and method == "POST":
            answers = batch.run(self.ledger, realm, await self._json(request))
            return 200, {"BatchItemResponse": answers, "time": realm.time(now)}
        spec = BY_SEGMENT.get(parts[0]) if parts and parts[0] == segment else None
        if spec is None or len(parts) > 2:
            raise faults.resource_not_found(f"/v3/company/{realm.realm_id}/{path}")
        entity = spec.name
        if method == "GET":
            if entity == "ExchangeRate":
                return 200, {entity: self._exchange_rate(realm, params), "time": realm.time(now)}
            if spec.kind is Kind.SINGLETON:
                entity_id = "1"
            elif len(parts) == 2:
                entity_id = parts[1]
            else:
                raise faults.resource_not_found(f"/v3/company/{realm.realm_id}/{path}")
            return 200, {
                entity: self.ledger.read(realm, entity, entity_id),
                "time": realm.time(now),
            }
        if len(parts) != 1:
            raise faults.resource_not_found(f"/v3/company/{realm.realm_id}/{path}")
        body = await self._json(request)
        if entity == "ExchangeRate":
            body = self._exchange_rate_upsert(realm, body)
        record = self.ledger.write(
            realm, entity, body, params.get("operation", ""), params.get("include", "")
        )
        return 200, {entity: record, "time": realm.time(now)}

    # ---- helpers ---------------------------------------------------------------------------
    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _too_large(self.max_body_bytes)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _too_large(self.max_body_bytes)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _text(self, request: Request) -> str:
        raw = await self._body(request)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise faults.malformed_bytes(exc.start + 1) from None

    async def _json(self, request: Request) -> Any:
        text = await self._text(request)
        try:
            return json.loads(text, parse_float=Decimal)
        except ValueError as exc:
            raise faults.malformed(f"Error parsing the JSON body: {exc}") from None
        except RecursionError:
            raise faults.malformed("Error parsing the JSON body: nested too deeply") from None

    def _exchange_rate(self, realm: Realm, params: Any) -> dict[str, Any]:
        source = (params.get("sourcecurrencycode") or "").upper()
        if not source:
            raise faults.required("sourcecurrencycode")
        as_of = params.get("asofdate") or "9999-12-31"
        best = latest_rate(realm, source, as_of)
        if best is not None:
            return best
        # QBO answers from its own rate feed; the emulator's feed says 1.
        return {
            "SyncToken": "0",
            "AsOfDate": params.get("asofdate") or realm.stamp(self.clock.now())[:10],
            "SourceCurrencyCode": source,
            "TargetCurrencyCode": realm.home_currency,
            "Rate": Decimal(1),
            "domain": "QBO",
            "sparse": False,
        }

    @staticmethod
    def _exchange_rate_upsert(realm: Realm, body: Any) -> Any:
        """ExchangeRate updates carry no Id: the (source, date) pair names the rate."""
        if not isinstance(body, dict):
            return body
        source = str(body.get("SourceCurrencyCode") or "").upper()
        as_of = str(body.get("AsOfDate") or "")[:10]
        body = {**body, "SourceCurrencyCode": source, "TargetCurrencyCode": realm.home_currency}
        for entry in realm.live("ExchangeRate"):
            data = entry.data
            if data["SourceCurrencyCode"] == source and data["AsOfDate"] == as_of:
                body.setdefault("SyncToken", data["SyncToken"])
                return {**body, "Id": data["Id"], "sparse": True}
        body.pop("Id", None)
        return body

    def _time(self, realm_id: str) -> str:
        realm = self.store.realms.get(realm_id)
        now = self.clock.now()
        return realm.time(now) if realm else now.isoformat(timespec="milliseconds")

    def _fault(self, fault: ApiFault, realm_id: str, as_json: bool, tid: str) -> Response:
        time = self._time(realm_id)
        if as_json:
            return self._raw(
                to_json({"Fault": fault.body(), "time": time}), fault.status, JSON_TYPE, tid
            )
        return self._raw(fault.xml(time).encode(), fault.status, XML_TYPE, tid)

    @staticmethod
    def _raw(body: bytes, status: int, media: str, tid: str) -> Response:
        return Response(
            body,
            status_code=status,
            headers={"intuit_tid": tid, "QBO-Version": "1.0.emulator", "content-type": media},
        )


def _too_large(limit: int) -> ApiFault:
    return ApiFault(
        413,
        "500",
        "Unsupported Operation",
        f"Request entity too large: the body exceeds {limit} bytes",
    )
