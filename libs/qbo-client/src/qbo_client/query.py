"""An immutable builder for QBO's SQL-like query language that cannot be injected."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from qbo_client.models.base import EntityKind, QBOEntity

E = TypeVar("E", bound=QBOEntity)

Operator = Literal["=", "<", ">", "<=", ">=", "IN", "LIKE", "in", "like"]
Scalar = str | bool | int | Decimal | date | datetime

MAX_RESULTS_LIMIT = 1000
_OPERATORS = frozenset({"=", "<", ">", "<=", ">=", "IN", "LIKE"})
# Property names are identifiers or dotted paths (MetaData.LastUpdatedTime); anything else
# is refused, so a field name can never smuggle query syntax in.
_PROPERTY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


def quote(value: Scalar) -> str:
    """Render one value as a QBO literal.

    Strings are quoted with ``'``; a quote becomes ``\\'`` (QBO's documented escape) and a
    backslash becomes ``\\\\`` so a trailing backslash in the data cannot un-escape the
    closing quote.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError("non-finite number in query")
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # QBO's reading of naive timestamps is undocumented; refuse them.
            raise ValueError("query timestamps must be timezone-aware")
        return _quote_str(value.isoformat())
    if isinstance(value, date):
        return _quote_str(value.isoformat())
    if isinstance(value, str):
        return _quote_str(value)
    raise TypeError(f"unsupported query value type {type(value).__name__}")


def _quote_str(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


@dataclass(frozen=True)
class Condition:
    prop: str
    op: Operator
    value: Scalar | tuple[Scalar, ...]

    def render(self) -> str:
        if isinstance(self.value, tuple):
            return f"{self.prop} {self.op} ({', '.join(quote(v) for v in self.value)})"
        return f"{self.prop} {self.op} {quote(self.value)}"


@dataclass(frozen=True)
class Query(Generic[E]):
    """``Query(Customer).where("DisplayName", "=", "O'Brien").order_by("Id")``.

    Every method returns a new Query; the entity name comes from the model class.
    """

    entity: type[E]
    conditions: tuple[Condition, ...] = ()
    order: tuple[tuple[str, bool], ...] = ()
    start_position: int = 1
    max_results: int | None = None
    include_inactive: bool = field(default=False)

    def where(self, prop: str, op: Operator, value: Scalar | Iterable[Scalar]) -> Query[E]:
        _check_property(prop)
        norm_op = op.upper()
        if norm_op not in _OPERATORS:
            raise ValueError(f"unsupported operator {op!r}")
        if norm_op == "IN":
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                raise ValueError("IN needs a collection of values")
            values = tuple(value)
            if not values:
                raise ValueError("IN needs at least one value")
            cond = Condition(prop, "IN", values)
        else:
            if not isinstance(value, Scalar):
                raise ValueError(f"{op} needs a single value")
            cond = Condition(prop, norm_op, value)  # type: ignore[arg-type]
        return replace(self, conditions=(*self.conditions, cond))

    def order_by(self, prop: str, *, descending: bool = False) -> Query[E]:
        _check_property(prop)
        return replace(self, order=(*self.order, (prop, descending)))

    def stable_order(self) -> Query[E]:
        """This query with ``Id`` as its last sort key, unless it already sorts by Id.

        QBO documents no default order (QBO.md §2.4), and an order by a key with ties (many
        rows share a LastUpdatedTime after a bulk import) is not a total order either: pages
        of such a query may overlap or leave gaps. ``Id`` is unique, so it breaks every tie.
        """
        if any(prop.lower() == "id" for prop, _ in self.order):
            return self
        return replace(self, order=(*self.order, ("Id", False)))

    def page(self, start_position: int, max_results: int) -> Query[E]:
        if start_position < 1:
            raise ValueError("STARTPOSITION is 1-based")
        if not 1 <= max_results <= MAX_RESULTS_LIMIT:
            raise ValueError(f"MAXRESULTS must be 1..{MAX_RESULTS_LIMIT}")
        return replace(self, start_position=start_position, max_results=max_results)

    def with_inactive(self) -> Query[E]:
        """Include inactive name-list rows, which QBO hides by default."""
        return replace(self, include_inactive=True)

    def _where_sql(self) -> str:
        conds = [c.render() for c in self.conditions]
        has_active = any(c.prop.lower() == "active" for c in self.conditions)
        if self.include_inactive and self.entity.KIND is EntityKind.NAME_LIST and not has_active:
            conds.append("Active IN (true, false)")
        return f" WHERE {' AND '.join(conds)}" if conds else ""

    def to_sql(self) -> str:
        sql = f"SELECT * FROM {self.entity.ENTITY}{self._where_sql()}"
        if self.order:
            parts = [f"{p} {'DESC' if d else 'ASC'}" for p, d in self.order]
            sql += f" ORDERBY {', '.join(parts)}"
        if self.start_position != 1 or self.max_results is not None:
            sql += f" STARTPOSITION {self.start_position}"
        if self.max_results is not None:
            sql += f" MAXRESULTS {self.max_results}"
        return sql

    def count_sql(self) -> str:
        return f"SELECT COUNT(*) FROM {self.entity.ENTITY}{self._where_sql()}"


def _check_property(prop: str) -> None:
    if not _PROPERTY.match(prop):
        raise ValueError(f"invalid property name {prop!r}")
