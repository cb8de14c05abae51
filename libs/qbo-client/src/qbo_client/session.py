"""Operations on one tenant's QBO company: CRUD, void, query, paging, CDC and batch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from qbo_client import batch as batching
from qbo_client.caller import Caller
from qbo_client.cdc import (
    CDC_OBJECT_CAP,
    CDCResult,
    checkpoint,
    parse_cdc,
    parse_time,
    within_lookback,
)
from qbo_client.errors import DuplicateNameError
from qbo_client.models import CompanyInfo, ExchangeRate, Preferences
from qbo_client.models.base import EntityKind, QBOEntity, VoidMode
from qbo_client.query import MAX_RESULTS_LIMIT, Query

E = TypeVar("E", bound=QBOEntity)

# QBO: requestid values are unique per realm and at most 50 characters (QBO.md §2.3).
REQUEST_ID_MAX_LEN = 50


class TenantSession:
    """Calls for one tenant at one priority; cheap to create, holds no connections."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    @property
    def tenant_id(self) -> str:
        return self._caller.tenant_id

    # -- single objects -------------------------------------------------------------------

    async def get(self, entity_cls: type[E], id: str) -> E:
        answer = await self._caller.call(
            "GET", f"{entity_cls.url_segment()}/{id}", op="get", entity=entity_cls.ENTITY
        )
        return entity_cls.model_validate(answer.payload[entity_cls.ENTITY])

    async def create(self, obj: E, *, request_id: str) -> E:
        body = obj.to_payload()
        body.pop("MetaData", None)
        return await self._write(obj, body, request_id, op="create", params={})

    async def update(self, obj: E, *, request_id: str, sparse: bool = False) -> E:
        _need_id(obj)
        body = obj.to_payload()
        body.pop("MetaData", None)
        body["sparse"] = sparse
        return await self._write(obj, body, request_id, op="update", params={"operation": "update"})

    async def delete(self, obj: E, *, request_id: str) -> E:
        """Hard-delete a transaction; returns QBO's ``status: "Deleted"`` stub."""
        if obj.KIND is not EntityKind.TRANSACTION:
            raise TypeError(f"{obj.ENTITY} cannot be deleted in QBO; use deactivate()")
        _need_id(obj)
        body = {"Id": obj.Id, "SyncToken": obj.SyncToken}
        return await self._write(obj, body, request_id, op="delete", params={"operation": "delete"})

    async def deactivate(self, obj: E, *, request_id: str) -> E:
        """Name lists are never deleted; QBO's equivalent is a sparse ``Active: false``."""
        if obj.KIND is not EntityKind.NAME_LIST:
            raise TypeError(f"{obj.ENTITY} is not a name-list entity; use delete() or void()")
        _need_id(obj)
        body: dict[str, Any] = {"Id": obj.Id, "SyncToken": obj.SyncToken, "Active": False}
        body["sparse"] = True
        return await self._write(
            obj, body, request_id, op="deactivate", params={"operation": "update"}
        )

    async def void(self, obj: E, *, request_id: str) -> E:
        _need_id(obj)
        base = {"Id": obj.Id, "SyncToken": obj.SyncToken}
        if obj.VOID is VoidMode.OPERATION_VOID:
            return await self._write(obj, base, request_id, op="void", params={"operation": "void"})
        if obj.VOID is VoidMode.UPDATE_INCLUDE_VOID:
            body = {**base, "sparse": True}
            params = {"operation": "update", "include": "void"}
            return await self._write(obj, body, request_id, op="void", params=params)
        raise TypeError(f"{obj.ENTITY} cannot be voided")

    async def _write(
        self,
        obj: E,
        body: dict[str, Any],
        request_id: str,
        *,
        op: str,
        params: dict[str, str],
    ) -> E:
        _check_request_id(request_id)
        try:
            answer = await self._caller.call(
                "POST",
                obj.url_segment(),
                op=op,
                entity=obj.ENTITY,
                params={**params, "requestid": request_id},
                json_body=body,
                write=True,
            )
        except DuplicateNameError as err:
            err.name = batching.clashing_name(obj)
            raise
        written = type(obj).model_validate(answer.payload[obj.ENTITY])
        written._intuit_tid = answer.intuit_tid
        return written

    # -- queries --------------------------------------------------------------------------

    async def query(self, q: Query[E]) -> list[E]:
        """One page, exactly as the query says (QBO's default page is 100 rows)."""
        payload = await self._query_payload(q.to_sql(), q.entity.ENTITY, op="query")
        rows = (payload.get("QueryResponse") or {}).get(q.entity.ENTITY, [])
        return [q.entity.model_validate(r) for r in rows]

    async def iterate(self, q: Query[E]) -> AsyncIterator[E]:
        """Every row, page by page: STARTPOSITION grows by the page size until a short page.

        The query is made deterministic first (``Query.stable_order``: ``Id`` is added as the
        last sort key), so consecutive pages neither repeat nor skip rows.
        """
        q = q.stable_order()
        size = q.max_results or MAX_RESULTS_LIMIT
        start = q.start_position
        while True:
            rows = await self.query(q.page(start, size))
            for row in rows:
                yield row
            # QBO's maxResults is the number of rows returned; a short page is the last.
            if len(rows) < size:
                return
            start += size

    async def count(self, q: Query[Any]) -> int:
        payload = await self._query_payload(q.count_sql(), q.entity.ENTITY, op="count")
        return int((payload.get("QueryResponse") or {}).get("totalCount", 0))

    async def _query_payload(self, sql: str, entity: str, *, op: str) -> dict[str, Any]:
        answer = await self._caller.call("POST", "query", op=op, entity=entity, text_body=sql)
        return answer.payload if isinstance(answer.payload, dict) else {}

    # -- change data capture --------------------------------------------------------------

    async def cdc(self, entities: Sequence[type[QBOEntity]], changed_since: datetime) -> CDCResult:
        """Everything changed since ``changed_since`` for the given entity types.

        CDC answers at most 1000 objects and looks back at most 30 days. Over the cap the
        entity set is split and asked again; one entity still over the cap, or a start
        older than 30 days, is read with paged ``MetaData.LastUpdatedTime`` queries (those
        cannot see deletions, so the entity is listed in ``CDCResult.queried``).

        ``CDCResult.time`` is always set and is taken before any data is read, so passing
        it back as the next ``changed_since`` never skips a change made during this call.
        """
        if changed_since.tzinfo is None:
            raise ValueError("changed_since must be timezone-aware")
        now = datetime.now(UTC)
        supported = [t for t in entities if t.CDC_SUPPORTED]
        by_query = [t for t in entities if not t.CDC_SUPPORTED]
        if supported and not within_lookback(changed_since, now):
            by_query, supported = list(entities), []
        result = CDCResult()
        if by_query:
            result.time = await self._query_checkpoint(by_query[0])
            for t in by_query:
                result.merge(await self._changes_by_query(t, changed_since))
        if supported:
            result.merge(await self._cdc_split(supported, changed_since))
        if result.time is None:  # no entities at all: nothing read, nothing can be skipped
            result.time = checkpoint(None, now)
        return result

    async def _query_checkpoint(self, entity_cls: type[QBOEntity]) -> datetime:
        """QBO's clock before paged change queries start, from a cheap COUNT call.

        A query answer's own ``time`` is stamped after its rows were read, so it would skip
        changes made while later pages were fetched; this call comes before all of them.
        """
        local_before = datetime.now(UTC)
        payload = await self._query_payload(
            Query(entity_cls).count_sql(), entity_cls.ENTITY, op="count"
        )
        return checkpoint(parse_time(payload.get("time")), local_before)

    async def _cdc_split(
        self, types: Sequence[type[QBOEntity]], changed_since: datetime
    ) -> CDCResult:
        part = await self._cdc_once(types, changed_since)
        if part.count() < CDC_OBJECT_CAP:
            return part
        if len(types) == 1:
            fallback = await self._changes_by_query(types[0], changed_since)
            # Keep whatever deletions CDC did return; the rest need reconciliation.
            fallback.deleted = part.deleted
            fallback.time = part.time
            return fallback
        middle = len(types) // 2
        result = await self._cdc_split(types[:middle], changed_since)
        result.merge(await self._cdc_split(types[middle:], changed_since))
        return result

    async def _cdc_once(
        self, types: Sequence[type[QBOEntity]], changed_since: datetime
    ) -> CDCResult:
        names = ",".join(t.ENTITY for t in types)
        local_before = datetime.now(UTC)
        answer = await self._caller.call(
            "GET",
            "cdc",
            op="cdc",
            entity=names,
            params={"entities": names, "changedSince": changed_since.isoformat()},
        )
        result = parse_cdc(answer.payload, types)
        result.time = checkpoint(result.time, local_before)
        return result

    async def _changes_by_query(
        self, entity_cls: type[QBOEntity], changed_since: datetime
    ) -> CDCResult:
        q = (
            Query(entity_cls)
            .where("MetaData.LastUpdatedTime", ">=", changed_since)
            .order_by("MetaData.LastUpdatedTime")
            .with_inactive()
        )
        rows = [row async for row in self.iterate(q)]
        result = CDCResult(queried={entity_cls.ENTITY})
        if rows:
            result.changed[entity_cls.ENTITY] = rows
        return result

    # -- batch ----------------------------------------------------------------------------

    async def batch(
        self, ops: Sequence[batching.BatchOp], *, request_id: str
    ) -> list[batching.BatchItemResult]:
        """Run ops in chunks of 30; results come back in the order of ``ops``.

        Each chunk's requestid is derived from ``request_id`` and the chunk's position, so
        a retried call replays instead of writing twice.
        """
        _check_request_id(request_id)
        items = batching.assign_bids(ops)
        results: list[batching.BatchItemResult] = []
        for index, chunk in enumerate(batching.chunks(items)):
            answer = await self._caller.call(
                "POST",
                "batch",
                op="batch",
                entity="Batch",
                params={"requestid": batching.chunk_request_id(request_id, index)},
                json_body=batching.request_body(chunk),
                write=True,
                batch=True,
            )
            results.extend(
                batching.parse_response(answer.payload, chunk, intuit_tid=answer.intuit_tid)
            )
        return results

    # -- company --------------------------------------------------------------------------

    async def company_info(self) -> CompanyInfo:
        token = await self._caller.token()
        return await self.get(CompanyInfo, token.realm_id)

    async def preferences(self) -> Preferences:
        answer = await self._caller.call("GET", "preferences", op="get", entity="Preferences")
        return Preferences.model_validate(answer.payload["Preferences"])

    async def exchange_rate(self, source_currency: str, as_of: date | None = None) -> ExchangeRate:
        params = {"sourcecurrencycode": source_currency}
        if as_of is not None:
            params["asofdate"] = as_of.isoformat()
        answer = await self._caller.call(
            "GET", "exchangerate", op="get", entity="ExchangeRate", params=params
        )
        return ExchangeRate.model_validate(answer.payload["ExchangeRate"])


def _need_id(obj: QBOEntity) -> None:
    if not obj.Id or obj.SyncToken is None:
        raise ValueError(f"{obj.ENTITY} needs Id and SyncToken for this operation")


def _check_request_id(request_id: str) -> None:
    if not request_id or len(request_id) > REQUEST_ID_MAX_LEN:
        raise ValueError(f"request_id must be 1..{REQUEST_ID_MAX_LEN} characters")
