"""python-quickbooks, unmodified, against the emulator: CRUD, queries, batch and its exceptions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.exceptions import (
    AuthorizationException,
    ObjectNotFoundException,
    QuickbooksException,
    ValidationException,
)
from quickbooks.objects.base import LinkedTxn, Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine
from requests_oauthlib import OAuth2Session  # type: ignore[import-untyped]

pytestmark = pytest.mark.integration


def _client(emulator_url: str, realm_id: str, token: str) -> QuickBooks:
    qb = QuickBooks(company_id=realm_id, minorversion=75, use_decimal=True)
    qb.session = OAuth2Session("client-id", token={"access_token": token, "token_type": "Bearer"})
    qb.api_url_v3 = f"{emulator_url}/v3"
    return qb


@pytest.fixture
def qb(emulator_url: str, new_realm: Callable[..., str], emulator_token: str) -> QuickBooks:
    return _client(emulator_url, new_realm(), emulator_token)


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def _ref(value: str) -> Ref:
    ref = Ref()
    ref.value = value
    return ref


def _invoice(customer: Customer, item_id: str, amount: str) -> Invoice:
    line = SalesItemLine()
    line.Amount = Decimal(amount)
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = _ref(item_id)
    line.SalesItemLineDetail.Qty = 2
    line.SalesItemLineDetail.UnitPrice = Decimal(amount) / 2
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line.append(line)
    return invoice


def _service_item(qb: QuickBooks) -> str:
    items = Item.filter(Name="Services", qb=qb)
    return str(items[0].Id)


def test_customer_create_read_update_and_stale_sync_token(qb: QuickBooks) -> None:
    customer = Customer()
    customer.DisplayName = _unique("O'Brien")
    customer = customer.save(qb=qb)
    assert customer.Id
    assert customer.SyncToken == "0"

    fetched = Customer.get(customer.Id, qb=qb)
    assert fetched.DisplayName == customer.DisplayName
    assert fetched.FullyQualifiedName == customer.DisplayName

    fetched.CompanyName = "Renamed Ltd"
    fetched = fetched.save(qb=qb)
    assert fetched.SyncToken == "1"
    assert Customer.get(customer.Id, qb=qb).CompanyName == "Renamed Ltd"

    customer.CompanyName = "Stale write"  # still holds SyncToken "0"
    with pytest.raises(QuickbooksException) as stale:
        customer.save(qb=qb)
    assert stale.value.error_code == 5010


def test_duplicate_display_name_across_vendor_and_inactive_customer(qb: QuickBooks) -> None:
    name = _unique("Shared")
    first = Customer()
    first.DisplayName = name
    first = first.save(qb=qb)
    first.Active = False
    first = first.save(qb=qb)

    second = Customer()
    second.DisplayName = name
    with pytest.raises(QuickbooksException) as dup:
        second.save(qb=qb)
    assert dup.value.error_code == 6240
    assert name in dup.value.detail


def test_query_escape_count_and_active_default(qb: QuickBooks) -> None:
    name = _unique("D'Angelo")
    customer = Customer()
    customer.DisplayName = name
    customer = customer.save(qb=qb)

    found = Customer.filter(DisplayName=name, qb=qb)
    assert [c.Id for c in found] == [customer.Id]
    before = Customer.count(qb=qb)

    customer.Active = False
    customer = customer.save(qb=qb)
    assert Customer.count(qb=qb) == before - 1
    assert Customer.filter(DisplayName=name, qb=qb) == []
    everyone = Customer.where("Active IN (true, false)", qb=qb, max_results=1000)
    assert customer.Id in {c.Id for c in everyone}
    assert len(Item.all(qb=qb)) >= 1  # sends "SELECT *, Sku FROM Item"


def test_invoice_payment_lowers_balance_and_links(qb: QuickBooks) -> None:
    customer = Customer()
    customer.DisplayName = _unique("Payer")
    customer = customer.save(qb=qb)
    invoice = _invoice(customer, _service_item(qb), "100.10").save(qb=qb)
    assert invoice.TotalAmt == Decimal("100.1")
    assert invoice.Balance == Decimal("100.1")

    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = Decimal("40.05")
    line = PaymentLine()
    line.Amount = Decimal("40.05")
    link = LinkedTxn()
    link.TxnId = invoice.Id
    link.TxnType = "Invoice"
    line.LinkedTxn.append(link)
    payment.Line.append(line)
    payment = payment.save(qb=qb)

    paid = Invoice.get(invoice.Id, qb=qb)
    assert paid.Balance == Decimal("60.05")
    assert [(t.TxnId, t.TxnType) for t in paid.LinkedTxn] == [(payment.Id, "Payment")]
    assert Customer.get(customer.Id, qb=qb).Balance == Decimal("60.05")


def test_delete_invoice_then_read_is_object_not_found(qb: QuickBooks) -> None:
    customer = Customer()
    customer.DisplayName = _unique("Deleter")
    customer = customer.save(qb=qb)
    invoice = _invoice(customer, _service_item(qb), "10")
    invoice = invoice.save(qb=qb)
    invoice.delete(qb=qb)
    with pytest.raises(ObjectNotFoundException) as gone:
        Invoice.get(invoice.Id, qb=qb)
    assert gone.value.error_code == 610


def test_inactive_and_unknown_references_and_required_fields(qb: QuickBooks) -> None:
    customer = Customer()
    customer.DisplayName = _unique("Inactive")
    customer = customer.save(qb=qb)
    customer.Active = False
    customer = customer.save(qb=qb)
    item_id = _service_item(qb)
    with pytest.raises(ObjectNotFoundException) as inactive:
        _invoice(customer, item_id, "5").save(qb=qb)
    assert inactive.value.error_code == 610

    active = Customer()
    active.DisplayName = _unique("Active")
    active = active.save(qb=qb)
    with pytest.raises(ValidationException) as unknown:
        _invoice(active, "999999", "5").save(qb=qb)
    assert unknown.value.error_code == 2500

    empty = Invoice()
    empty.CustomerRef = active.to_ref()
    with pytest.raises(ValidationException) as missing:
        empty.save(qb=qb)
    assert missing.value.error_code == 2020


def test_batch_create_reports_per_item_faults(qb: QuickBooks) -> None:
    taken = _unique("Taken")
    existing = Customer()
    existing.DisplayName = taken
    existing = existing.save(qb=qb)
    fresh = [Customer() for _ in range(3)]
    for customer in fresh:
        customer.DisplayName = _unique("Batch")
    clash = Customer()
    clash.DisplayName = taken
    result = batch_create([*fresh, clash], qb=qb)
    assert len(result.successes) == 3
    assert all(c.Id for c in result.successes)
    assert [int(f.Error[0].code) for f in result.faults] == [6240]


def test_request_id_replays_first_response(qb: QuickBooks) -> None:
    request_id = uuid.uuid4().hex
    first = Customer()
    first.DisplayName = _unique("Replay")
    first.save(qb=qb, request_id=request_id)
    again = Customer()
    again.DisplayName = first.DisplayName
    again.save(qb=qb, request_id=request_id)  # replayed, so no 6240
    assert again.Id == first.Id


def test_bad_token_is_authorization_exception(
    emulator_url: str, new_realm: Callable[..., str]
) -> None:
    qb = _client(emulator_url, new_realm(), "not-a-real-token")
    with pytest.raises(AuthorizationException) as denied:
        Customer.all(qb=qb)
    assert denied.value.error_code == 401


def test_throttled_call_raises_like_qbo(
    emulator_url: str, new_realm: Callable[..., str], emulator_token: str
) -> None:
    realm_id = new_realm()
    limits = {"per_minute": 2}
    httpx.put(
        f"{emulator_url}/_emulator/companies/{realm_id}/limits", json=limits
    ).raise_for_status()
    qb = _client(emulator_url, realm_id, emulator_token)
    Customer.count(qb=qb)
    Customer.count(qb=qb)
    with pytest.raises(QuickbooksException) as throttled:
        Customer.count(qb=qb)
    # The XML throttle body is what makes python-quickbooks report 10000 (QBO.md §4.2).
    assert throttled.value.error_code == 10000
    assert "ThrottleExceeded" in throttled.value.message
