"""Property: whatever the lines, quantities, prices, currencies and rates, the QBO body's total is
the expected total to the cent, and no float appears anywhere on the money path."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from invoice_sync.domain.amounts import CompanyCurrency, plan_amounts, to_cents
from invoice_sync.domain.document import Document
from invoice_sync.domain.naming import item_name
from invoice_sync.domain.payloads import References, document_payload, sum_of_lines
from invoice_sync.domain.policy import SyncPolicy
from qbo_client import Invoice
from qbo_client.codec import dumps, loads
from qbsync_common.contract.values import DocumentLine

money = st.decimals(min_value=Decimal("-5000"), max_value=Decimal("100000"), places=2)
quantity = st.decimals(min_value=Decimal("0"), max_value=Decimal("20000"), places=3)
price = st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=4)
rate = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("500"), places=6)
currency = st.sampled_from(["USD", "EUR", "GBP", "JPY"])


@st.composite
def lines(draw: st.DrawFn) -> list[DocumentLine]:
    out = []
    for i in range(draw(st.integers(0, 8))):
        q, p = draw(quantity), draw(price)
        # Mostly qty x price, sometimes an amount that does not match (discounts upstream).
        amount = draw(st.one_of(st.just(to_cents(q * p)), money))
        out.append(DocumentLine(name=f"Line {i}", quantity=q, unit_price=p, amount=amount))
    return out


def _no_floats(value: Any) -> None:
    assert not isinstance(value, float), value
    if isinstance(value, dict):
        for item in value.values():
            _no_floats(item)
    elif isinstance(value, list):
        for item in value:
            _no_floats(item)


@settings(max_examples=300, deadline=None)
@given(lines(), money, currency, rate, st.sampled_from(["USD", "EUR"]), st.booleans())
def test_qbo_total_equals_expected_total_to_the_cent(
    doc_lines: list[DocumentLine],
    net_total: Decimal,
    doc_currency: str,
    exchange_rate: Decimal,
    home: str,
    multicurrency: bool,
) -> None:
    company = CompanyCurrency(home, multicurrency)
    plan = plan_amounts(
        doc_lines, net_total, currency=doc_currency, exchange_rate=exchange_rate, company=company
    )
    factor = exchange_rate if (doc_currency != home and not multicurrency) else Decimal(1)
    expected = to_cents(net_total * factor)
    policy = SyncPolicy()
    doc = Document(
        kind="invoice",
        document_id="d",
        version=1,
        number="N1",
        status="sent",
        pro_forma=False,
        issue_date=date(2026, 1, 2),
        due_date=None,
        modified_at=datetime(2026, 1, 2, tzinfo=UTC),
        partner_kind="client",
        partner_id="c",
        partner=None,
        project_id=None,
        client_id=None,
        terms=None,
        currency=doc_currency,
        exchange_rate=exchange_rate,
        lines=tuple(doc_lines),
        net_total=net_total,
        upstream_sync_key=None,
    )
    items = {item_name(line.name, policy): "1" for line in plan.lines}
    body = document_payload(
        doc, plan, References("9", items), policy, operation="op", multicurrency=multicurrency
    )
    assert plan.total == expected
    assert sum_of_lines(body) == expected
    _no_floats(body)
    # On the wire: the QBO client's codec refuses floats; read back exactly, the sum still holds.
    wire = loads(dumps(Invoice.model_validate(body).to_payload()))
    assert sum_of_lines(wire) == expected
    for line in plan.lines:
        assert line.amount == to_cents(line.amount)  # QBO amounts are whole cents
        if line.quantity is not None and line.unit_price is not None:
            # QBO refuses a line whose Amount is not Qty x UnitPrice (to the cent).
            assert abs(line.quantity * line.unit_price - line.amount) <= Decimal("0.005")
