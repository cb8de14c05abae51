"""python-quickbooks, unmodified, against the emulator: CRUD, queries, batch and its exceptions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from quickbooks import QuickBooks
from quickbooks.batch import batch_create, batch_delete, batch_update
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import (
    AuthorizationException,
    ObjectNotFoundException,
    QuickbooksException,
    ValidationException,
)
from quickbooks.objects.account import Account
from quickbooks.objects.base import LinkedTxn, Ref
from quickbooks.objects.bill import Bill
from quickbooks.objects.billpayment import BillPayment, BillPaymentLine, CheckPayment
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.companycurrency import CompanyCurrency
from quickbooks.objects.creditmemo import CreditMemo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import (
    AccountBasedExpenseLine,
    AccountBasedExpenseLineDetail,
    SalesItemLine,
    SalesItemLineDetail,
)
from quickbooks.objects.employee import Employee
from quickbooks.objects.exchangerate import ExchangeRate
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.paymentmethod import PaymentMethod
from quickbooks.objects.preferences import Preferences
from quickbooks.objects.term import Term
from quickbooks.objects.vendor import Vendor
from requests_oauthlib import OAuth2Session  # type: ignore[import-untyped]

from qbo_emulator.accounting import properties

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


def test_query_on_a_property_the_entity_lacks(qb: QuickBooks) -> None:
    # QBO's 4001 lands in python-quickbooks' validation range, as for real QBO.
    with pytest.raises(ValidationException) as where:
        Customer.filter(NoSuchField="x", qb=qb)
    assert where.value.error_code == 4001
    assert "NoSuchField" in where.value.detail
    with pytest.raises(ValidationException) as ordered:
        Invoice.where("", order_by="Colour DESC", qb=qb)
    assert ordered.value.error_code == 4001
    assert Customer.filter(DisplayName=_unique("Nobody"), qb=qb) == []


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


def _multicurrency_client(
    emulator_url: str, new_realm: Callable[..., str], emulator_token: str
) -> QuickBooks:
    return _client(emulator_url, new_realm(multicurrency=True), emulator_token)


def _account_id(qb: QuickBooks, name: str) -> str:
    return str(Account.filter(Name=name, qb=qb)[0].Id)


def _vendor(qb: QuickBooks) -> Vendor:
    vendor = Vendor()
    vendor.DisplayName = _unique("Supplier")
    vendor.CompanyName = "Supplies Ltd"
    saved: Vendor = vendor.save(qb=qb)
    return saved


def _bill(qb: QuickBooks, vendor: Vendor, amount: str) -> Bill:
    line = AccountBasedExpenseLine()
    line.Amount = Decimal(amount)
    line.AccountBasedExpenseLineDetail = AccountBasedExpenseLineDetail()
    line.AccountBasedExpenseLineDetail.AccountRef = _ref(_account_id(qb, "Utilities"))
    bill = Bill()
    bill.VendorRef = vendor.to_ref()
    bill.Line.append(line)
    saved: Bill = bill.save(qb=qb)
    return saved


def test_name_lists_create_update_and_deactivate(qb: QuickBooks) -> None:
    vendor = _vendor(qb)
    vendor.AcctNum = "V-7"
    vendor = vendor.save(qb=qb)
    assert (vendor.SyncToken, vendor.AcctNum, vendor.CurrencyRef.value) == ("1", "V-7", "USD")
    vendor.Active = False
    vendor = vendor.save(qb=qb)
    assert Vendor.get(vendor.Id, qb=qb).Active is False
    assert vendor.Id not in {v.Id for v in Vendor.all(qb=qb, max_results=1000)}

    employee = Employee()
    employee.GivenName = "Grace"
    employee.FamilyName = _unique("Hopper")
    employee = employee.save(qb=qb)
    assert employee.DisplayName == f"Grace {employee.FamilyName}"
    employee.Active = False
    assert employee.save(qb=qb).Active is False

    term = Term()
    term.Name = _unique("Net 45")[:31]
    term.DueDays = 45
    term = term.save(qb=qb)
    assert (term.Type, term.DueDays) == ("STANDARD", 45)
    monthly = Term()
    monthly.Name = _unique("15th")[:31]
    monthly.DayOfMonthDue = 15
    monthly.DueNextMonthDays = 5
    monthly = monthly.save(qb=qb)
    assert monthly.Type == "DATE_DRIVEN"
    term.DueDays = 40
    term = term.save(qb=qb)
    assert Term.get(term.Id, qb=qb).DueDays == 40
    term.Active = False
    assert term.save(qb=qb).Active is False

    account = Account()
    account.Name = _unique("Petty Cash")
    account.AccountType = "Bank"
    account = account.save(qb=qb)
    assert (account.Classification, account.AccountSubType) == ("Asset", "Checking")
    account.Description = "cash drawer"
    account = account.save(qb=qb)
    assert Account.get(account.Id, qb=qb).Description == "cash drawer"
    account.Active = False
    assert account.save(qb=qb).Active is False

    item = Item()
    item.Name = _unique("Consulting")
    item.Type = "Service"
    item.UnitPrice = Decimal("120.50")
    item.IncomeAccountRef = _ref(_account_id(qb, "Services"))
    item = item.save(qb=qb)
    assert (item.UnitPrice, item.IncomeAccountRef.name) == (Decimal("120.5"), "Services")
    item.UnitPrice = Decimal("99.99")
    item = item.save(qb=qb)
    assert Item.get(item.Id, qb=qb).UnitPrice == Decimal("99.99")
    item.Active = False
    item = item.save(qb=qb)
    assert Item.filter(Name=item.Name, qb=qb) == []

    clash = Item()
    clash.Name = item.Name  # names stay taken by inactive items
    clash.Type = "Service"
    clash.IncomeAccountRef = _ref(_account_id(qb, "Services"))
    with pytest.raises(QuickbooksException) as dup:
        clash.save(qb=qb)
    assert dup.value.error_code == 6240


def test_bill_bill_payment_and_void(qb: QuickBooks) -> None:
    vendor = _vendor(qb)
    bill = _bill(qb, vendor, "250.40")
    assert (bill.TotalAmt, bill.Balance) == (Decimal("250.4"), Decimal("250.4"))
    assert bill.APAccountRef is None or bill.APAccountRef.value

    payment = BillPayment()
    payment.VendorRef = vendor.to_ref()
    payment.PayType = "Check"
    payment.TotalAmt = Decimal("100.40")
    payment.CheckPayment = CheckPayment()
    payment.CheckPayment.BankAccountRef = _ref(_account_id(qb, "Checking"))
    line = BillPaymentLine()
    line.Amount = Decimal("100.40")
    link = LinkedTxn()
    link.TxnId = bill.Id
    link.TxnType = "Bill"
    line.LinkedTxn.append(link)
    payment.Line.append(line)
    payment = payment.save(qb=qb)
    assert payment.CheckPayment.BankAccountRef.name == "Checking"

    paid = Bill.get(bill.Id, qb=qb)
    assert paid.Balance == Decimal("150")
    assert [(t.TxnId, t.TxnType) for t in paid.LinkedTxn] == [(payment.Id, "BillPaymentCheck")]
    assert Vendor.get(vendor.Id, qb=qb).Balance == Decimal("150")

    with pytest.raises(QuickbooksException) as linked:
        paid.delete(qb=qb)
    assert linked.value.error_code == 6000

    payment.void(qb=qb)
    voided = BillPayment.get(payment.Id, qb=qb)
    assert voided.TotalAmt == 0
    assert voided.PrivateNote.startswith("Voided")
    reopened = Bill.get(bill.Id, qb=qb)
    assert (reopened.Balance, reopened.LinkedTxn) == (Decimal("250.4"), [])
    reopened.delete(qb=qb)
    with pytest.raises(ObjectNotFoundException):
        Bill.get(bill.Id, qb=qb)


def test_credit_memo_and_invoice_void(qb: QuickBooks) -> None:
    customer = Customer()
    customer.DisplayName = _unique("Refunded")
    customer = customer.save(qb=qb)
    item_id = _service_item(qb)
    invoice = _invoice(customer, item_id, "80").save(qb=qb)

    memo = CreditMemo()
    memo.CustomerRef = customer.to_ref()
    line = SalesItemLine()
    line.Amount = Decimal("30")
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = _ref(item_id)
    memo.Line.append(line)
    memo = memo.save(qb=qb)
    assert (memo.TotalAmt, memo.RemainingCredit) == (Decimal("30"), Decimal("30"))
    assert Customer.get(customer.Id, qb=qb).Balance == Decimal("50")

    memo.PrivateNote = "goodwill"
    memo = memo.save(qb=qb)
    assert CreditMemo.get(memo.Id, qb=qb).PrivateNote == "goodwill"

    invoice.void(qb=qb)
    voided = Invoice.get(invoice.Id, qb=qb)
    assert (voided.TotalAmt, voided.Balance) == (0, 0)
    assert Customer.get(customer.Id, qb=qb).Balance == Decimal("-30")
    memo.delete(qb=qb)
    assert Customer.get(customer.Id, qb=qb).Balance == 0


def test_company_info_and_preferences(qb: QuickBooks) -> None:
    info = CompanyInfo.get(qb.company_id, qb=qb)
    assert info.Country == "US"
    assert info.CompanyAddr.Country == "USA"
    info.LegalName = "Legal Name LLC"
    info = info.save(qb=qb)
    assert CompanyInfo.get(qb.company_id, qb=qb).LegalName == "Legal Name LLC"
    [queried] = CompanyInfo.all(qb=qb)
    assert queried.SyncToken == info.SyncToken == "1"

    prefs = Preferences.get(qb=qb)
    assert prefs.CurrencyPrefs.MultiCurrencyEnabled is False
    assert prefs.CurrencyPrefs.HomeCurrency.value == "USD"
    prefs.ReportPrefs.ReportBasis = "Cash"
    prefs = prefs.save(qb=qb)
    assert Preferences.get(qb=qb).ReportPrefs.ReportBasis == "Cash"
    assert prefs.SyncToken == "1"
    # Turning multicurrency on is one-way.
    prefs.CurrencyPrefs.MultiCurrencyEnabled = True
    prefs = prefs.save(qb=qb)
    prefs.CurrencyPrefs.MultiCurrencyEnabled = False
    with pytest.raises(QuickbooksException) as one_way:
        prefs.save(qb=qb)
    assert one_way.value.error_code == 6000


def test_company_currency_and_exchange_rate(
    emulator_url: str, new_realm: Callable[..., str], emulator_token: str
) -> None:
    qb = _multicurrency_client(emulator_url, new_realm, emulator_token)
    currency = CompanyCurrency()
    currency.Code = "GBP"
    currency = currency.save(qb=qb)
    assert (currency.Code, currency.Name) == ("GBP", "British Pound Sterling")
    assert {"EUR", "GBP"} <= {c.Code for c in CompanyCurrency.all(qb=qb)}
    duplicate = CompanyCurrency()
    duplicate.Code = "GBP"
    with pytest.raises(QuickbooksException) as dup:
        duplicate.save(qb=qb)
    assert dup.value.error_code == 6000

    rate = ExchangeRate()
    rate.SourceCurrencyCode = "GBP"
    rate.AsOfDate = "2024-03-01"
    rate.Rate = Decimal("1.2650")
    rate = rate.save(qb=qb)
    assert (rate.Rate, rate.TargetCurrencyCode, rate.SyncToken) == (Decimal("1.265"), "USD", "0")
    rate.Rate = Decimal("1.27")
    rate = rate.save(qb=qb)  # no Id: the (currency, date) pair names the rate
    assert (rate.Rate, rate.SyncToken) == (Decimal("1.27"), "1")
    [listed] = ExchangeRate.where("SourceCurrencyCode = 'GBP'", qb=qb)
    assert listed.Rate == Decimal("1.27")

    customer = Customer()
    customer.DisplayName = _unique("London")
    customer.CurrencyRef = _ref("GBP")
    customer = customer.save(qb=qb)
    invoice = _invoice(customer, _service_item(qb), "100")
    with pytest.raises(ValidationException) as missing:
        invoice.save(qb=qb)
    assert missing.value.error_code == 2020
    invoice.CurrencyRef = _ref("GBP")
    invoice.TxnDate = "2024-03-05"
    # python-quickbooks sends ExchangeRate 1 unless told otherwise; without it the company's
    # rate for the date applies.
    invoice.ExchangeRate = None
    invoice = invoice.save(qb=qb)
    assert (invoice.ExchangeRate, invoice.HomeTotalAmt) == (Decimal("1.27"), Decimal("127"))
    assert invoice.CurrencyRef.name == "British Pound Sterling"


def test_batch_update_delete_and_change_data_capture(qb: QuickBooks) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    customers = batch_create([_named(Customer(), "Cdc") for _ in range(3)], qb=qb).successes
    assert len(customers) == 3
    for customer in customers:
        customer.CompanyName = "Updated in batch"
    stale = Customer.get(customers[0].Id, qb=qb)
    customers[0].Notes = "first write wins"
    customers[0] = customers[0].save(qb=qb)
    updated = batch_update([*customers[1:], stale], qb=qb)
    assert {c.CompanyName for c in updated.successes} == {"Updated in batch"}
    assert [int(f.Error[0].code) for f in updated.faults] == [5010]

    item_id = _service_item(qb)
    invoices = batch_create([_invoice(customers[1], item_id, "10") for _ in range(2)], qb=qb)
    assert len(invoices.successes) == 2
    deleted = batch_delete(invoices.successes, qb=qb)
    assert deleted.faults == []
    assert len(deleted.batch_responses) == 2

    changes = change_data_capture([Customer, Invoice], started, qb=qb)
    changed_ids = {c.Id for c in changes.Customer}
    assert {c.Id for c in customers} <= changed_ids
    gone = {i.Id for i in changes.Invoice if i.status == "Deleted"}
    assert gone == {i.Id for i in invoices.successes}


def _named(obj: Customer, prefix: str) -> Customer:
    obj.DisplayName = _unique(prefix)
    return obj


@pytest.mark.parametrize(
    "model",
    [
        Account,
        Bill,
        BillPayment,
        CompanyCurrency,
        CompanyInfo,
        CreditMemo,
        Customer,
        Employee,
        ExchangeRate,
        Invoice,
        Item,
        Payment,
        PaymentMethod,
        Preferences,
        Term,
        Vendor,
    ],
)
def test_every_property_python_quickbooks_models_is_queryable(model: Any) -> None:
    # Its filter(**kwargs) turns attribute names into WHERE properties.
    entity = str(model.qbo_object_name)
    attributes = [name for name in vars(model()) if not name.startswith("_")]
    assert [name for name in attributes if properties.unknown(entity, (name.lower(),))] == []
