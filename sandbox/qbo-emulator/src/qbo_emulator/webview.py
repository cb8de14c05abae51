"""Read-only HTML view of the emulated companies under /_emulator/view/, for people, not tests.

Server-rendered, no scripts; every value from a record is escaped (records hold whatever a client
wrote, so a customer name may well contain markup). `?refresh=N` reloads the page every N seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from html import escape
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse

from qbo_emulator.accounting.store import Realm, Store

Row = Sequence[str]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }
table { border-collapse: collapse; margin-bottom: 2rem; min-width: 40rem; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .75rem; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.inactive td { color: #999; }
caption { text-align: left; font-weight: 600; font-size: 1.15rem; padding: .5rem 0; }
.empty { color: #777; font-style: italic; }
"""

NUMERIC = {"Total", "Balance", "Amount", "Open balance"}


def _page(title: str, body: str, refresh: int) -> HTMLResponse:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh > 0 else ""
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{meta}'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _money(value: Any) -> str:
    """Two decimals, as QuickBooks shows amounts; records may hold ints, floats or Decimals."""
    if value is None or value == "":
        return ""
    try:
        return f"{Decimal(str(value)):.2f}"
    except ArithmeticError:
        return str(value)


def table(caption: str, headers: Sequence[str], rows: Iterable[tuple[Row, bool]], css: str) -> str:
    """rows: (cells, active); cells are plain text and are escaped here."""
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if h in NUMERIC else f"<th>{escape(h)}</th>"
        for h in headers
    )
    body = []
    for cells, active in rows:
        tds = "".join(
            f'<td class="num">{escape(c)}</td>' if h in NUMERIC else f"<td>{escape(c)}</td>"
            for h, c in zip(headers, cells, strict=True)
        )
        row_class = "" if active else ' class="inactive"'
        body.append(f"<tr{row_class}>{tds}</tr>")
    if not body:
        span = len(headers)
        body.append(f'<tr><td class="empty" colspan="{span}">none</td></tr>')
    return (
        f'<table id="{css}"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _ref_name(record: dict[str, Any], key: str) -> str:
    ref = record.get(key) or {}
    return _text(ref.get("name") or ref.get("value"))


def _linked(record: dict[str, Any], names: dict[str, str]) -> str:
    """What a payment settles: the DocNumbers (else ids) of the linked transactions."""
    linked = []
    for line in record.get("Line") or []:
        for txn in line.get("LinkedTxn") or []:
            txn_id = str(txn.get("TxnId"))
            linked.append(f"{txn.get('TxnType')} {names.get(txn_id, txn_id)}")
    return ", ".join(linked)


def _live(realm: Realm, entity: str) -> list[dict[str, Any]]:
    return [entry.data for entry in realm.entries.get(entity, {}).values() if not entry.deleted]


def _status(record: dict[str, Any]) -> str:
    balance, total = record.get("Balance"), record.get("TotalAmt")
    if balance is None or total is None:
        return ""
    owed = Decimal(str(balance))
    if owed == 0:
        return "paid"
    return "open" if owed == Decimal(str(total)) else "partially paid"


def company_body(realm: Realm) -> str:
    people = {
        e: {r["Id"]: r.get("DisplayName", "") for r in _live(realm, e)}
        for e in ("Customer", "Vendor")
    }
    doc_numbers = {
        r["Id"]: _text(r.get("DocNumber") or r["Id"])
        for entity in ("Invoice", "Bill")
        for r in _live(realm, entity)
    }

    def partner_rows(entity: str) -> list[tuple[Row, bool]]:
        return [
            (
                (
                    r["Id"],
                    _text(r.get("DisplayName")),
                    _text(r.get("CompanyName")),
                    _text((r.get("PrimaryEmailAddr") or {}).get("Address")),
                    _text((r.get("CurrencyRef") or {}).get("value")),
                    _money(r.get("Balance")),
                ),
                bool(r.get("Active", True)),
            )
            for r in _live(realm, entity)
        ]

    def document_rows(entity: str, ref: str, kind: str) -> list[tuple[Row, bool]]:
        return [
            (
                (
                    r["Id"],
                    _text(r.get("DocNumber")),
                    people[kind].get(str((r.get(ref) or {}).get("value")), _ref_name(r, ref)),
                    _text(r.get("TxnDate")),
                    _text(r.get("DueDate")),
                    _money(r.get("TotalAmt")),
                    _money(r.get("Balance")),
                    _status(r),
                ),
                True,
            )
            for r in _live(realm, entity)
        ]

    def payment_rows(entity: str, ref: str, kind: str) -> list[tuple[Row, bool]]:
        return [
            (
                (
                    r["Id"],
                    people[kind].get(str((r.get(ref) or {}).get("value")), _ref_name(r, ref)),
                    _text(r.get("TxnDate")),
                    _money(r.get("TotalAmt")),
                    _linked(r, doc_numbers),
                ),
                True,
            )
            for r in _live(realm, entity)
        ]

    partner_headers = ["Id", "Display name", "Company", "E-mail", "Currency", "Open balance"]
    doc_headers = ["Id", "No.", "Party", "Date", "Due", "Total", "Balance", "Status"]
    pay_headers = ["Id", "Party", "Date", "Amount", "Applied to"]
    return "".join(
        [
            f"<p>Realm {escape(realm.realm_id)} · {escape(realm.country)} · home currency "
            f'{escape(realm.home_currency)} · <a href="/_emulator/view/">all companies</a></p>',
            table("Customers", partner_headers, partner_rows("Customer"), "customers"),
            table("Vendors", partner_headers, partner_rows("Vendor"), "vendors"),
            table(
                "Invoices",
                doc_headers,
                document_rows("Invoice", "CustomerRef", "Customer"),
                "invoices",
            ),
            table("Bills", doc_headers, document_rows("Bill", "VendorRef", "Vendor"), "bills"),
            table(
                "Payments",
                pay_headers,
                payment_rows("Payment", "CustomerRef", "Customer"),
                "payments",
            ),
            table(
                "Bill payments",
                pay_headers,
                payment_rows("BillPayment", "VendorRef", "Vendor"),
                "bill-payments",
            ),
        ]
    )


def companies_body(store: Store) -> str:
    headers = ["Realm", "Company", "Country", "Customers", "Vendors", "Invoices", "Payments"]
    rows = []
    for realm in store.realms.values():
        counts = [str(len(_live(realm, e))) for e in ("Customer", "Vendor", "Invoice", "Payment")]
        cells = (realm.realm_id, realm.company_name, realm.country, *counts)
        rows.append(
            "<tr>"
            f'<td><a href="/_emulator/view/{escape(realm.realm_id, quote=True)}">'
            f"{escape(realm.realm_id)}</a></td>"
            + "".join(f"<td>{escape(c)}</td>" for c in cells[1:])
            + "</tr>"
        )
    if not rows:
        rows.append(f'<tr><td class="empty" colspan="{len(headers)}">no companies yet</td></tr>')
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return (
        f'<table id="companies"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def webview_router(store: Store) -> APIRouter:
    router = APIRouter(prefix="/_emulator/view", tags=["emulator web view"])
    refresh_query = Query(0, ge=0, le=3600, description="reload every N seconds; 0 = never")

    @router.get("/", response_class=HTMLResponse, summary="Every emulated company")
    async def companies(refresh: int = refresh_query) -> HTMLResponse:
        return _page("QuickBooks emulator: companies", companies_body(store), refresh)

    @router.get("/{realm_id}", response_class=HTMLResponse, summary="One company's records")
    async def company(realm_id: str, refresh: int = refresh_query) -> HTMLResponse:
        realm = store.realms.get(realm_id)
        if realm is None:
            raise HTTPException(404, f"unknown realm {realm_id}")
        return _page(realm.company_name, company_body(realm), refresh)

    return router
