"""The QBO query language: a lark grammar, a parsed form and an evaluator over stored records."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lark import (
    Lark,
    Token,
    Transformer,
    Tree,
    UnexpectedCharacters,
    UnexpectedInput,
    UnexpectedToken,
)

from qbo_emulator.accounting import faults, properties
from qbo_emulator.accounting.catalogue import BY_LOWER, Kind
from qbo_emulator.accounting.store import Realm, Record

DEFAULT_MAX = 100
LIMIT_MAX = 1000

_GRAMMAR = r"""
start: "SELECT"i projection "FROM"i NAME where? orderby? startpos? maxres?
projection: COUNT -> count
          | STAR ("," NAME)* -> star
COUNT: /count\s*\(\s*\*\s*\)/i
STAR: "*"
where: "WHERE"i cond ("AND"i cond)*
cond: path OP value -> compare
    | path "IN"i "(" value ("," value)* ")" -> in_
    | path "LIKE"i STRING -> like
path: NAME ("." NAME)*
orderby: ("ORDERBY"i | "ORDER"i "BY"i) sortkey ("," sortkey)*
sortkey: path DIR?
DIR.2: "ASC"i | "DESC"i
startpos: "STARTPOSITION"i INT
maxres: "MAXRESULTS"i INT
value: STRING -> string
     | SIGNED_NUMBER -> number
     | TRUE -> true
     | FALSE -> false
TRUE.2: "true"i
FALSE.2: "false"i
OP: "<=" | ">=" | "=" | "<" | ">"
STRING: /'(\\.|[^'\\])*'/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
%import common.INT
%import common.SIGNED_NUMBER
%import common.WS
%ignore WS
"""

_PARSER = Lark(_GRAMMAR, parser="lalr")

# QBO's documented comparison operators (QBO.md §2.4): there is no "not equal" in its query
# language, so "!=" and "<>" are parse errors (4000) there and in the grammar above, and the
# evaluator knows exactly the operators the grammar can produce.
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


@dataclass
class Condition:
    path: tuple[str, ...]
    op: str
    values: list[Any]


@dataclass
class Query:
    entity: str
    count: bool = False
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[tuple[str, ...], bool]] = field(default_factory=list)
    start: int = 1
    max_results: int = DEFAULT_MAX


class _Build(Transformer[Token, Any]):
    def string(self, items: list[Token]) -> str:
        raw = str(items[0])[1:-1]
        return raw.replace("\\'", "'").replace("\\\\", "\\")

    def number(self, items: list[Token]) -> Decimal:
        return Decimal(str(items[0]))

    def true(self, _: list[Token]) -> bool:
        return True

    def false(self, _: list[Token]) -> bool:
        return False

    def path(self, items: list[Token]) -> tuple[str, ...]:
        return tuple(str(t).lower() for t in items)

    def compare(self, items: list[Any]) -> Condition:
        return Condition(items[0], str(items[1]), [items[2]])

    def in_(self, items: list[Any]) -> Condition:
        return Condition(items[0], "IN", list(items[1:]))

    def like(self, items: list[Any]) -> Condition:
        return Condition(items[0], "LIKE", [self.string([items[1]])])

    def sortkey(self, items: list[Any]) -> tuple[tuple[str, ...], bool]:
        descending = len(items) > 1 and str(items[1]).lower() == "desc"
        return (items[0], descending)


def parse(text: str) -> Query:
    """Parse a query, raising QBO's 4000/4001 faults for what QBO rejects."""
    if not text or not text.strip():
        raise faults.query_parse("The query provided was empty")
    try:
        tree = _PARSER.parse(text.strip())
    except UnexpectedInput as exc:
        raise faults.query_parse(_describe(exc)) from None
    entity_token = str(tree.children[1])
    spec = BY_LOWER.get(entity_token.lower())
    if spec is None:
        raise faults.query_parse(f"Invalid context declaration : {entity_token}")
    _check_properties(tree, spec.name)
    built = _Build().transform(tree)
    children = built.children
    query = Query(entity=spec.name, count=children[0].data == "count")
    for part in children[2:]:
        if part.data == "where":
            query.conditions = list(part.children)
        elif part.data == "orderby":
            query.order = list(part.children)
        elif part.data == "startpos":
            query.start = max(1, int(part.children[0]))
        elif part.data == "maxres":
            query.max_results = int(part.children[0])
    if query.max_results > LIMIT_MAX:
        raise faults.query_validation(
            f"value {query.max_results} is too large. Max allowed value is {LIMIT_MAX}"
        )
    return query


def _check_properties(tree: Tree[Token], entity: str) -> None:
    """Refuse a property the entity does not have, wherever the query names one.

    Checked on the raw tree so the fault quotes the name as the client wrote it. QBO answers
    names it has no metadata for with 4001 "Invalid query" (quickbooks-ruby #628 shows it for an
    entity); its exact wording for a property is not on record, so this follows that shape.
    """
    named: list[list[str]] = [
        [str(token) for token in path.children] for path in tree.find_data("path")
    ]
    projection = tree.children[0]
    if isinstance(projection, Tree) and projection.data == "star":
        # PQB's `SELECT *, Sku FROM Item`: the extra names are properties too.
        named.extend(
            [str(t)] for t in projection.children if isinstance(t, Token) and t.type == "NAME"
        )
    for written in named:
        bad = properties.unknown(entity, tuple(part.lower() for part in written))
        if bad is not None:
            shown = ".".join(written) if "." in bad else written[0]
            raise faults.query_validation(f"Property {shown} not found for Entity: {entity}")


def _describe(exc: UnexpectedInput) -> str:
    column = getattr(exc, "column", "?")
    if isinstance(exc, UnexpectedToken):
        found = exc.token
        return (
            f'Encountered " <{found.type}> "{found} "" at line 1, column {column}.\n'
            f"Was expecting one of: {', '.join(sorted(exc.expected))}"
        )
    if isinstance(exc, UnexpectedCharacters):
        return f'Lexical error at line 1, column {column}.  Encountered: "{exc.char}"'
    return f"Encountered end of input at line 1, column {column}."


def run(realm: Realm, query: Query) -> dict[str, Any]:
    """Evaluate a parsed query against a realm; returns the QueryResponse body."""
    spec = BY_LOWER[query.entity.lower()]
    rows = [e.data for e in realm.live(query.entity)]
    conditions = query.conditions
    if spec.kind is Kind.NAME_LIST and not any(c.path == ("active",) for c in conditions):
        rows = [r for r in rows if r.get("Active", True)]
    for cond in conditions:
        rows = [r for r in rows if _matches(r, cond)]
    if query.count:
        return {"totalCount": len(rows)}
    rows.sort(key=_id_key)
    for path, descending in reversed(query.order):
        rows.sort(key=_path_key(path), reverse=descending)
    page = rows[query.start - 1 : query.start - 1 + query.max_results]
    if not page:
        return {}
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}


def _id_key(rec: Record) -> int:
    value = str(rec.get("Id", ""))
    return int(value) if value.isdigit() else 0


def _path_key(path: tuple[str, ...]) -> Callable[[Record], tuple[int, Any]]:
    return lambda rec: _sort_key(_lookup(rec, path))


def _lookup(rec: Record, path: tuple[str, ...]) -> Any:
    value: Any = rec
    for part in path:
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if k.lower() == part), None)
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | Decimal):
        return (1, Decimal(value))
    text = str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        return (2, text.casefold())
    # "NaN" and "Infinity" are names here, not numbers: NaN cannot even be ordered.
    return (1, number) if number.is_finite() else (2, text.casefold())


def _coerce(stored: Any, wanted: Any, path: tuple[str, ...]) -> tuple[Any, Any]:
    """Bring a stored value and a query literal to one comparable type."""
    if isinstance(wanted, bool) or isinstance(stored, bool):
        return bool(stored), wanted if isinstance(wanted, bool) else str(wanted).lower() == "true"
    if path[-1].endswith("time"):
        try:
            return _instant(stored), _instant(wanted)
        except ValueError:
            pass
    if isinstance(stored, int | Decimal) or isinstance(wanted, Decimal):
        try:
            left, right = Decimal(str(stored)), Decimal(str(wanted))
        except InvalidOperation:
            pass
        else:
            if left.is_finite() and right.is_finite():
                return left, right
    return str(stored).casefold(), str(wanted).casefold()


def _instant(value: Any) -> datetime:
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        # QBO's treatment of naive timestamps is undocumented; the emulator reads them as UTC.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _matches(rec: Record, cond: Condition) -> bool:
    stored = _lookup(rec, cond.path)
    if cond.path == ("active",) and stored is None:
        stored = True
    if stored is None:
        return False
    if cond.op == "LIKE":
        return _like(str(stored), str(cond.values[0]))
    if cond.op == "IN":
        return any(_compare(stored, v, "=", cond.path) for v in cond.values)
    return _compare(stored, cond.values[0], cond.op, cond.path)


def _compare(stored: Any, wanted: Any, op: str, path: tuple[str, ...]) -> bool:
    left, right = _coerce(stored, wanted, path)
    try:
        return bool(_OPERATORS[op](left, right))
    except TypeError:
        return False


def _like(text: str, pattern: str) -> bool:
    parts = pattern.casefold().split("%")
    text = text.casefold()
    if len(parts) == 1:
        return text == parts[0]
    if not text.startswith(parts[0]) or not text.endswith(parts[-1]):
        return False
    position = len(parts[0])
    for middle in parts[1:-1]:
        found = text.find(middle, position)
        if found < 0:
            return False
        position = found + len(middle)
    return position <= len(text) - len(parts[-1])
