"""Batch requests: operations, chunking to QBO's 30-item limit, and per-item results."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from qbo_client.errors import DuplicateNameError, QBOError, ServiceError
from qbo_client.faults import error_from_entry, fault_entries
from qbo_client.models.base import QBOEntity
from qbo_client.query import Query

BATCH_MAX_ITEMS = 30
# With a requestid, QBO allows bIds of at most 10 characters (QBO.md §2.3).
BID_MAX_LEN = 10
BATCH_REQUEST_ID_MAX_LEN = 36

BatchOperation = Literal["create", "update", "delete", "query"]


@dataclass(frozen=True)
class BatchOp:
    """One item of a batch. Build with ``BatchOp.create(obj)`` and friends."""

    operation: BatchOperation
    entity: QBOEntity | None = None
    query: Query[Any] | None = None
    bid: str | None = None
    sparse: bool = False

    @classmethod
    def create(cls, entity: QBOEntity, *, bid: str | None = None) -> BatchOp:
        return cls("create", entity=entity, bid=bid)

    @classmethod
    def update(cls, entity: QBOEntity, *, sparse: bool = False, bid: str | None = None) -> BatchOp:
        return cls("update", entity=entity, bid=bid, sparse=sparse)

    @classmethod
    def delete(cls, entity: QBOEntity, *, bid: str | None = None) -> BatchOp:
        return cls("delete", entity=entity, bid=bid)

    @classmethod
    def select(cls, query: Query[Any], *, bid: str | None = None) -> BatchOp:
        return cls("query", query=query, bid=bid)

    def item(self, bid: str) -> dict[str, Any]:
        if self.operation == "query":
            if self.query is None:
                raise ValueError("query operation without a query")
            return {"bId": bid, "Query": self.query.to_sql()}
        if self.entity is None:
            raise ValueError(f"{self.operation} operation without an entity")
        payload = self.entity.to_payload()
        if self.operation == "delete":
            payload = {"Id": payload.get("Id"), "SyncToken": payload.get("SyncToken")}
        elif self.operation == "update":
            payload["sparse"] = self.sparse
        return {"bId": bid, "operation": self.operation, self.entity.ENTITY: payload}


@dataclass(frozen=True)
class BatchItemResult:
    """The outcome of one BatchOp: an entity, query rows, or an error."""

    bid: str
    op: BatchOp
    entity: QBOEntity | None = None
    rows: list[QBOEntity] | None = None
    error: QBOError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def assign_bids(ops: Sequence[BatchOp]) -> list[tuple[str, BatchOp]]:
    """Give every op a bId: the caller's, or its position. bIds must be unique and short."""
    out: list[tuple[str, BatchOp]] = []
    seen: set[str] = set()
    for index, op in enumerate(ops):
        bid = op.bid if op.bid is not None else str(index)
        if len(bid) > BID_MAX_LEN:
            raise ValueError(f"bId {bid!r} longer than {BID_MAX_LEN} characters")
        if bid in seen:
            raise ValueError(f"duplicate bId {bid!r}")
        seen.add(bid)
        out.append((bid, op))
    return out


def chunks(items: Sequence[tuple[str, BatchOp]], size: int = BATCH_MAX_ITEMS) -> list[list[Any]]:
    if not 1 <= size <= BATCH_MAX_ITEMS:
        raise ValueError(f"chunk size must be 1..{BATCH_MAX_ITEMS}")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def chunk_request_id(request_id: str, index: int) -> str:
    """A deterministic per-chunk requestid, so a retried batch replays chunk by chunk."""
    digest = hashlib.sha256(f"{request_id}\x00{index}".encode()).hexdigest()
    return digest[:BATCH_REQUEST_ID_MAX_LEN]


def request_body(items: Sequence[tuple[str, BatchOp]]) -> dict[str, Any]:
    return {"BatchItemRequest": [op.item(bid) for bid, op in items]}


def parse_response(
    payload: Any,
    items: Sequence[tuple[str, BatchOp]],
    *,
    intuit_tid: str | None = None,
) -> list[BatchItemResult]:
    """Per-item results in the order of ``items``; QBO does not promise to keep that order."""
    answers: dict[str, dict[str, Any]] = {}
    for answer in payload.get("BatchItemResponse", []) if isinstance(payload, dict) else []:
        if isinstance(answer, dict) and "bId" in answer:
            answers[str(answer["bId"])] = answer
    results = []
    for bid, op in items:
        answer = answers.get(bid)
        if answer is None:
            err: QBOError = ServiceError("batch item missing from response", intuit_tid=intuit_tid)
            results.append(BatchItemResult(bid, op, error=err))
            continue
        entries = fault_entries(answer)
        if entries:
            error = error_from_entry(entries[0], intuit_tid=intuit_tid)
            results.append(BatchItemResult(bid, op, error=_with_name(error, op)))
        elif op.operation == "query" and op.query is not None:
            cls = op.query.entity
            rows_raw = (answer.get("QueryResponse") or {}).get(cls.ENTITY, [])
            rows = [cls.model_validate(r) for r in rows_raw]
            results.append(BatchItemResult(bid, op, rows=rows))
        elif op.entity is not None:
            raw = answer.get(op.entity.ENTITY)
            entity = type(op.entity).model_validate(raw) if isinstance(raw, dict) else None
            if entity is not None:
                # As for a single write: the tid names the call that wrote it, for support.
                entity._intuit_tid = intuit_tid
            results.append(BatchItemResult(bid, op, entity=entity))
        else:
            results.append(BatchItemResult(bid, op))
    return results


def _with_name(error: QBOError, op: BatchOp) -> QBOError:
    if isinstance(error, DuplicateNameError) and op.entity is not None:
        error.name = clashing_name(op.entity)
    return error


def clashing_name(entity: QBOEntity) -> str | None:
    """The name QBO compares for uniqueness: DisplayName for people, Name for the rest."""
    for field in ("DisplayName", "Name"):
        value = getattr(entity, field, None)
        if isinstance(value, str) and value:
            return value
    return None
