"""Every operation on every entity qbsync uses, against the real QBO emulator."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from qbo_client import (
    AccessToken,
    Account,
    BatchOp,
    Bill,
    BillPayment,
    CreditMemo,
    Customer,
    Invoice,
    Item,
    Line,
    Payment,
    QBOClient,
    QBOEntity,
    Query,
    Ref,
    StaticTokenProvider,
    TenantSession,
    Term,
    Vendor,
    errors,
)
from qbo_client.models import (
    AccountBasedExpenseLineDetail,
    LinkedTxn,
    NameListEntity,
    SalesItemLineDetail,
)

pytestmark = pytest.mark.integration

# realm_client() (see conftest) -> (QBOClient, realm_id) for a fresh seeded company.
MakeClient = Callable[..., Awaitable[tuple[QBOClient, str]]]


async def one(s: TenantSession, entity: type[QBOEntity], prop: str, value: str) -> Any:
    rows = await s.query(Query(entity).where(prop, "=", value))
    assert len(rows) == 1, f"{entity.ENTITY} {prop}={value!r}: {len(rows)} rows"
    return rows[0]


def ident(obj: QBOEntity) -> str:
    assert obj.Id is not None
    return obj.Id


def sales_line(item_id: str, qty: str, price: str, amount: str) -> Line:
    detail = SalesItemLineDetail(
        ItemRef=Ref(value=item_id), Qty=Decimal(qty), UnitPrice=Decimal(price)
    )
    return Line(
        Amount=Decimal(amount), DetailType="SalesItemLineDetail", SalesItemLineDetail=detail
    )


def expense_line(account_id: str, amount: str) -> Line:
    detail = AccountBasedExpenseLineDetail(AccountRef=Ref(value=account_id))
    return Line(
        Amount=Decimal(amount),
        DetailType="AccountBasedExpenseLineDetail",
        AccountBasedExpenseLineDetail=detail,
    )


async def test_name_lists_full_lifecycle(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    income = await one(s, Account, "Name", "Services")
    cases: list[tuple[QBOEntity, str, Any, str]] = [
        (Customer(DisplayName=f"O'Brien \\ {u}"), "Notes", "vip", "DisplayName"),
        (Vendor(DisplayName=f"Vendor {u}"), "CompanyName", "V Ltd", "DisplayName"),
        (
            Item(
                Name=f"Item {u}",
                Type="Service",
                IncomeAccountRef=Ref(value=income.Id),
                UnitPrice=Decimal("12.3456"),
            ),
            "Description",
            "hourly",
            "Name",
        ),
        (Term(Name=f"T{u[:6]}", DueDays=45), "DueDays", 50, "Name"),
        (Account(Name=f"Acct {u}", AccountType="Expense"), "Description", "misc", "Name"),
    ]
    for obj, field, value, name_field in cases:
        cls = type(obj)
        name = getattr(obj, name_field)
        created = await s.create(obj, request_id=f"create-{cls.ENTITY}-{u}")
        assert created.Id
        assert created.SyncToken == "0"
        got = await s.get(cls, ident(created))
        assert getattr(got, name_field) == name
        if isinstance(got, Item):
            assert got.UnitPrice == Decimal("12.3456")
        full = await s.update(
            got.model_copy(update={field: value}), request_id=f"full-{cls.ENTITY}-{u}"
        )
        assert full.SyncToken == "1"
        assert getattr(full, field) == value
        sparse = await s.update(
            cls.model_validate({"Id": got.Id, "SyncToken": "1", name_field: f"{name} 2"}),
            request_id=f"sparse-{cls.ENTITY}-{u}",
            sparse=True,
        )
        assert getattr(sparse, name_field) == f"{name} 2"
        assert getattr(sparse, field) == value  # sparse left it alone
        with pytest.raises(errors.StaleObjectError) as stale:
            await s.update(
                cls.model_validate({"Id": got.Id, "SyncToken": "0", name_field: "x"}),
                request_id=f"stale-{cls.ENTITY}-{u}",
                sparse=True,
            )
        assert stale.value.code == "5010"
        assert not stale.value.transient
        assert stale.value.intuit_tid
        found = await one(s, cls, name_field, f"{name} 2")
        assert found.Id == got.Id
        by_name = Query(cls).where(name_field, "=", f"{name} 2")
        assert await s.count(by_name) == 1
        gone = await s.deactivate(sparse, request_id=f"off-{cls.ENTITY}-{u}")
        assert isinstance(gone, NameListEntity)
        assert gone.Active is False
        assert await s.count(by_name) == 0
        assert await s.count(by_name.with_inactive()) == 1
        with pytest.raises(TypeError):
            await s.delete(gone, request_id=f"del-{cls.ENTITY}-{u}")


async def test_sales_transactions_and_exact_money(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    customer = await one(s, Customer, "DisplayName", "Amy's Bird Sanctuary")
    item = await one(s, Item, "Name", "Hours")
    lines = [
        sales_line(item.Id, "1", "0.1", "0.10"),
        sales_line(item.Id, "1", "0.2", "0.20"),
        sales_line(item.Id, "3", "12.3456", "37.04"),
    ]
    invoice = await s.create(
        Invoice(CustomerRef=Ref(value=customer.Id), Line=lines, DocNumber=f"D{u}"),
        request_id=f"inv-{u}",
    )
    assert invoice.TotalAmt == Decimal("0.1") + Decimal("0.2") + Decimal("37.04")
    read = await s.get(Invoice, ident(invoice))
    assert read.Line is not None
    details = [ln.SalesItemLineDetail for ln in read.Line if ln.SalesItemLineDetail]
    assert [d.UnitPrice for d in details] == [Decimal("0.1"), Decimal("0.2"), Decimal("12.3456")]
    assert read.Balance == Decimal("37.34")

    noted = await s.update(
        Invoice(Id=read.Id, SyncToken=read.SyncToken, PrivateNote="sparse note"),
        request_id=f"inv-note-{u}",
        sparse=True,
    )
    assert noted.PrivateNote == "sparse note"
    assert noted.TotalAmt == Decimal("37.34")

    with pytest.raises(errors.DuplicateDocNumberError):
        await s.create(
            Invoice(CustomerRef=Ref(value=customer.Id), Line=lines[:1], DocNumber=f"D{u}"),
            request_id=f"inv-dup-{u}",
        )

    payment = await s.create(
        Payment(
            CustomerRef=Ref(value=customer.Id),
            TotalAmt=Decimal("10.05"),
            Line=[
                {
                    "Amount": Decimal("10.05"),
                    "LinkedTxn": [{"TxnId": read.Id, "TxnType": "Invoice"}],
                }
            ],
        ),
        request_id=f"pay-{u}",
    )
    assert (await s.get(Invoice, ident(read))).Balance == Decimal("27.29")
    voided_payment = await s.void(payment, request_id=f"pay-void-{u}")
    assert voided_payment.TotalAmt == Decimal("0")
    assert (await s.get(Invoice, ident(read))).Balance == Decimal("37.34")

    latest = await s.get(Invoice, ident(read))
    voided = await s.void(latest, request_id=f"inv-void-{u}")
    assert voided.TotalAmt == Decimal("0")

    memo = await s.create(
        CreditMemo(CustomerRef=Ref(value=customer.Id), Line=lines[:2]), request_id=f"cm-{u}"
    )
    assert memo.TotalAmt == Decimal("0.30")
    stub = await s.delete(memo, request_id=f"cm-del-{u}")
    assert stub.deleted
    with pytest.raises(errors.ObjectNotFoundError) as missing:
        await s.get(CreditMemo, ident(memo))
    assert missing.value.code == "610"


async def test_purchase_transactions(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    vendor = await one(s, Vendor, "DisplayName", "Hicks Hardware")
    expense = await one(s, Account, "Name", "Office Expenses")
    bank = await one(s, Account, "Name", "Checking")
    bill = await s.create(
        Bill(VendorRef=Ref(value=vendor.Id), Line=[expense_line(expense.Id, "100.0001")]),
        request_id=f"bill-{u}",
    )
    assert bill.Balance == bill.TotalAmt
    bill = await s.update(
        bill.model_copy(update={"PrivateNote": "full update"}), request_id=f"bill-upd-{u}"
    )
    assert bill.SyncToken == "1"
    pay = await s.create(
        BillPayment(
            VendorRef=Ref(value=vendor.Id),
            PayType="Check",
            CheckPayment={"BankAccountRef": {"value": bank.Id}},
            TotalAmt=Decimal("40"),
            Line=[{"Amount": Decimal("40"), "LinkedTxn": [{"TxnId": bill.Id, "TxnType": "Bill"}]}],
        ),
        request_id=f"bp-{u}",
    )
    assert bill.TotalAmt is not None
    assert (await s.get(Bill, ident(bill))).Balance == bill.TotalAmt - Decimal("40")
    await s.void(pay, request_id=f"bp-void-{u}")
    other = await s.create(
        Bill(VendorRef=Ref(value=vendor.Id), Line=[expense_line(expense.Id, "1.50")]),
        request_id=f"bill2-{u}",
    )
    await s.delete(other, request_id=f"bill2-del-{u}")
    assert other.Id is not None
    with pytest.raises(errors.ObjectNotFoundError):
        await s.get(Bill, ident(other))


async def test_error_mapping(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    await s.create(Customer(DisplayName=f"Taken {u}"), request_id=f"taken-{u}")
    with pytest.raises(errors.DuplicateNameError) as dup:
        await s.create(Vendor(DisplayName=f"Taken {u}"), request_id=f"taken-v-{u}")
    assert dup.value.name == f"Taken {u}"
    assert dup.value.code == "6240"
    with pytest.raises(errors.InvalidReferenceError) as bad_ref:
        await s.create(
            Invoice(CustomerRef=Ref(value="999999"), Line=[sales_line("1", "1", "1", "1")]),
            request_id=f"badref-{u}",
        )
    assert bad_ref.value.code == "2500"
    with pytest.raises(errors.ValidationError) as invalid:
        await s.create(Invoice(Line=[]), request_id=f"noline-{u}")
    assert not invalid.value.transient
    with pytest.raises(errors.ObjectNotFoundError):
        await s.get(Customer, "987654")


async def test_same_request_id_creates_one_record(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    name = f"Retried {uuid.uuid4().hex[:8]}"
    first = await s.create(Customer(DisplayName=name), request_id=f"rid-{name}")
    again = await s.create(Customer(DisplayName=name), request_id=f"rid-{name}")
    assert again.Id == first.Id
    assert await s.count(Query(Customer).where("DisplayName", "=", name).with_inactive()) == 1


async def test_paging_cdc_batch_and_company(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:6]
    since = datetime.now(UTC) - timedelta(minutes=5)
    ops = [BatchOp.create(Customer(DisplayName=f"B{u}-{i:02d}")) for i in range(33)]
    ops.append(BatchOp.create(Customer(DisplayName="Cool Cars")))  # seeded: duplicate name
    results = await s.batch(ops, request_id=f"batch-{u}")
    assert [r.ok for r in results] == [True] * 33 + [False]
    assert isinstance(results[-1].error, errors.DuplicateNameError)
    assert results[-1].error.name == "Cool Cars"

    q = Query(Customer).where("DisplayName", "LIKE", f"B{u}-%").order_by("DisplayName")
    names = [c.DisplayName async for c in s.iterate(q.page(1, 10))]
    assert names == [f"B{u}-{i:02d}" for i in range(33)]
    assert await s.count(q) == 33

    changes = await s.cdc([Customer, Invoice], since)
    changed = {getattr(c, "DisplayName", None) for c in changes.changed.get("Customer", [])}
    assert {f"B{u}-{i:02d}" for i in range(33)} <= changed
    assert changes.time is not None
    assert changes.queried == set()
    old = await s.cdc([Customer], datetime.now(UTC) - timedelta(days=45))
    assert old.queried == {"Customer"}
    assert len(old.changed["Customer"]) >= 33

    info = await s.company_info()
    assert info.CompanyName == f"Co {realm}"
    prefs = await s.preferences()
    assert prefs.CurrencyPrefs is not None
    assert prefs.CurrencyPrefs.home_currency == "USD"
    rate = await s.exchange_rate("EUR")
    assert rate.SourceCurrencyCode == "EUR"
    assert isinstance(rate.Rate, Decimal)


async def test_lost_answer_is_uncertain_and_replays_with_the_same_request_id(
    realm_client: MakeClient, admin: Any
) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    name = f"Dropped {uuid.uuid4().hex[:8]}"
    # QBO commits the create, then the connection drops before the answer arrives.
    await admin.set_faults(realm, drop_after_commit_rate=1.0)
    with pytest.raises(errors.TransportError) as lost:
        await s.create(Customer(DisplayName=name), request_id=f"drop-{name}")
    assert lost.value.transient
    assert lost.value.uncertain
    await admin.set_faults(realm)
    replayed = await s.create(Customer(DisplayName=name), request_id=f"drop-{name}")
    assert replayed.DisplayName == name
    assert await s.count(Query(Customer).where("DisplayName", "=", name).with_inactive()) == 1
    assert (await admin.stats(realm))["replayed"] == 1


async def test_injected_server_errors_are_transient(realm_client: MakeClient, admin: Any) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    await admin.set_faults(realm, error_rate=1.0, error_status=503, html_503=True)
    with pytest.raises(errors.ServiceError) as html:
        await s.company_info()
    assert html.value.status == 503
    assert html.value.transient
    await admin.set_faults(realm, error_rate=1.0, error_status=500)
    with pytest.raises(errors.ServiceError) as system:
        await s.company_info()
    assert system.value.code == "10000"
    assert system.value.intuit_tid


async def test_rejected_token_is_refreshed_once(
    qbo_emulator_url: str, admin: Any, emulator_token: str
) -> None:
    realm = await admin.new_realm(seeded=False)
    expires = datetime.now(UTC) + timedelta(hours=1)
    stale = AccessToken("revoked-token", realm, qbo_emulator_url, expires)
    fresh = AccessToken(emulator_token, realm, qbo_emulator_url, expires)
    tokens = StaticTokenProvider({realm: stale}, refreshed={realm: fresh})
    async with QBOClient(tokens, registry=CollectorRegistry()) as client:
        info = await client.for_tenant(realm).company_info()
    assert info.CompanyName == f"Co {realm}"
    assert len(tokens.refresh_calls) == 1
    still_bad = StaticTokenProvider({realm: stale})
    async with QBOClient(still_bad, registry=CollectorRegistry()) as client:
        with pytest.raises(errors.AuthenticationError) as denied:
            await client.for_tenant(realm).company_info()
    assert denied.value.status == 401
    assert not denied.value.transient


def payment_line(amount: str, txn_id: str, txn_type: str) -> Line:
    return Line(Amount=Decimal(amount), LinkedTxn=[LinkedTxn(TxnId=txn_id, TxnType=txn_type)])


async def test_invoice_full_update_stale_delete_and_cdc_stub(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    since = datetime.now(UTC) - timedelta(minutes=1)
    customer = await one(s, Customer, "DisplayName", "Amy's Bird Sanctuary")
    item = await one(s, Item, "Name", "Hours")
    kept = await s.create(
        Invoice(CustomerRef=Ref(value=customer.Id), Line=[sales_line(item.Id, "1", "5", "5.00")]),
        request_id=f"inv-kept-{u}",
    )
    created = await s.create(
        Invoice(
            CustomerRef=Ref(value=customer.Id),
            Line=[sales_line(item.Id, "2", "10", "20.00")],
            PrivateNote="to be dropped",
        ),
        request_id=f"inv-full-{u}",
    )
    assert created.SyncToken == "0"

    # A full update replaces the object: the new lines set the total and the omitted
    # PrivateNote is cleared, unlike a sparse update.
    full = await s.update(
        created.model_copy(
            update={"Line": [sales_line(item.Id, "3", "12.3456", "37.04")], "PrivateNote": None}
        ),
        request_id=f"inv-full-upd-{u}",
    )
    assert full.SyncToken == "1"
    assert full.TotalAmt == Decimal("37.04")
    assert full.Balance == Decimal("37.04")
    assert full.PrivateNote is None

    with pytest.raises(errors.StaleObjectError) as stale:
        await s.update(
            created.model_copy(update={"PrivateNote": "late"}), request_id=f"inv-stale-{u}"
        )
    assert stale.value.code == "5010"
    assert stale.value.status == 400
    assert not stale.value.transient
    assert stale.value.intuit_tid
    with pytest.raises(errors.StaleObjectError):
        await s.delete(created, request_id=f"inv-stale-del-{u}")
    assert (await s.get(Invoice, ident(created))).SyncToken == "1"  # nothing stale was applied

    stub = await s.delete(full, request_id=f"inv-del-{u}")
    assert stub.deleted
    assert stub.Id == created.Id
    with pytest.raises(errors.ObjectNotFoundError) as gone:
        await s.get(Invoice, ident(created))
    assert gone.value.code == "610"

    changes = await s.cdc([Invoice], since)
    assert changes.queried == set()
    assert [d.Id for d in changes.deleted.get("Invoice", [])] == [created.Id]
    assert all(d.deleted for d in changes.deleted["Invoice"])
    changed_ids = {c.Id for c in changes.changed.get("Invoice", [])}
    assert kept.Id in changed_ids
    assert created.Id not in changed_ids


async def test_payment_get_full_and_sparse_update_delete(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    customer = await one(s, Customer, "DisplayName", "Amy's Bird Sanctuary")
    item = await one(s, Item, "Name", "Hours")
    invoice = await s.create(
        Invoice(
            CustomerRef=Ref(value=customer.Id), Line=[sales_line(item.Id, "1", "100", "100.00")]
        ),
        request_id=f"pay-inv-{u}",
    )
    inv_id = ident(invoice)
    created = await s.create(
        Payment(
            CustomerRef=Ref(value=customer.Id),
            TotalAmt=Decimal("10.05"),
            Line=[payment_line("10.05", inv_id, "Invoice")],
        ),
        request_id=f"pay-{u}",
    )
    got = await s.get(Payment, ident(created))
    assert got.TotalAmt == Decimal("10.05")
    assert got.CustomerRef is not None
    assert got.CustomerRef.value == customer.Id
    assert got.Line is not None
    assert got.Line[0].LinkedTxn is not None
    assert got.Line[0].LinkedTxn[0].TxnId == inv_id
    assert (await s.get(Invoice, inv_id)).Balance == Decimal("89.95")

    full = await s.update(
        got.model_copy(
            update={
                "TotalAmt": Decimal("25.50"),
                "Line": [payment_line("25.50", inv_id, "Invoice")],
            }
        ),
        request_id=f"pay-full-{u}",
    )
    assert full.SyncToken == "1"
    assert full.TotalAmt == Decimal("25.50")
    assert (await s.get(Invoice, inv_id)).Balance == Decimal("74.50")

    sparse = await s.update(
        Payment(Id=full.Id, SyncToken=full.SyncToken, PrivateNote="sparse"),
        request_id=f"pay-sparse-{u}",
        sparse=True,
    )
    assert sparse.SyncToken == "2"
    assert sparse.PrivateNote == "sparse"
    assert sparse.TotalAmt == Decimal("25.50")  # sparse left the amount and lines alone
    assert (await s.get(Invoice, inv_id)).Balance == Decimal("74.50")

    stub = await s.delete(sparse, request_id=f"pay-del-{u}")
    assert stub.deleted
    with pytest.raises(errors.ObjectNotFoundError):
        await s.get(Payment, ident(created))
    assert (await s.get(Invoice, inv_id)).Balance == Decimal("100.00")


async def test_bill_payment_get_update_delete(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    vendor = await one(s, Vendor, "DisplayName", "Hicks Hardware")
    expense = await one(s, Account, "Name", "Office Expenses")
    bank = await one(s, Account, "Name", "Checking")
    bill = await s.create(
        Bill(VendorRef=Ref(value=vendor.Id), Line=[expense_line(expense.Id, "60.00")]),
        request_id=f"bp-bill-{u}",
    )
    bill_id = ident(bill)
    created = await s.create(
        BillPayment(
            VendorRef=Ref(value=vendor.Id),
            PayType="Check",
            CheckPayment={"BankAccountRef": {"value": bank.Id}},
            TotalAmt=Decimal("40"),
            Line=[payment_line("40", bill_id, "Bill")],
        ),
        request_id=f"bp-{u}",
    )
    got = await s.get(BillPayment, ident(created))
    assert got.TotalAmt == Decimal("40")
    assert got.PayType == "Check"
    assert got.VendorRef is not None
    assert got.VendorRef.value == vendor.Id
    assert (await s.get(Bill, bill_id)).Balance == Decimal("20.00")

    updated = await s.update(
        got.model_copy(
            update={
                "TotalAmt": Decimal("25.25"),
                "Line": [payment_line("25.25", bill_id, "Bill")],
                "PrivateNote": "reduced",
            }
        ),
        request_id=f"bp-upd-{u}",
    )
    assert updated.SyncToken == "1"
    assert updated.TotalAmt == Decimal("25.25")
    assert updated.PrivateNote == "reduced"
    assert (await s.get(Bill, bill_id)).Balance == Decimal("34.75")

    stub = await s.delete(updated, request_id=f"bp-del-{u}")
    assert stub.deleted
    with pytest.raises(errors.ObjectNotFoundError):
        await s.get(BillPayment, ident(created))
    assert (await s.get(Bill, bill_id)).Balance == Decimal("60.00")


async def test_credit_memo_full_and_sparse_update_and_bill_sparse_update(
    realm_client: MakeClient,
) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    customer = await one(s, Customer, "DisplayName", "Amy's Bird Sanctuary")
    item = await one(s, Item, "Name", "Hours")
    memo = await s.create(
        CreditMemo(
            CustomerRef=Ref(value=customer.Id), Line=[sales_line(item.Id, "1", "0.1", "0.10")]
        ),
        request_id=f"cm-{u}",
    )
    assert memo.TotalAmt == Decimal("0.10")
    full = await s.update(
        memo.model_copy(
            update={
                "Line": [
                    sales_line(item.Id, "1", "0.1", "0.10"),
                    sales_line(item.Id, "1", "0.2", "0.20"),
                ]
            }
        ),
        request_id=f"cm-full-{u}",
    )
    assert full.SyncToken == "1"
    assert full.TotalAmt == Decimal("0.30")
    assert full.Line is not None
    assert len([ln for ln in full.Line if ln.SalesItemLineDetail]) == 2
    sparse = await s.update(
        CreditMemo(Id=full.Id, SyncToken=full.SyncToken, PrivateNote="sparse memo"),
        request_id=f"cm-sparse-{u}",
        sparse=True,
    )
    assert sparse.SyncToken == "2"
    assert sparse.PrivateNote == "sparse memo"
    assert sparse.TotalAmt == Decimal("0.30")
    assert (await s.get(CreditMemo, ident(memo))).PrivateNote == "sparse memo"

    vendor = await one(s, Vendor, "DisplayName", "Hicks Hardware")
    expense = await one(s, Account, "Name", "Office Expenses")
    bill = await s.create(
        Bill(VendorRef=Ref(value=vendor.Id), Line=[expense_line(expense.Id, "100.0001")]),
        request_id=f"bill-{u}",
    )
    noted = await s.update(
        Bill(Id=bill.Id, SyncToken=bill.SyncToken, PrivateNote="sparse bill"),
        request_id=f"bill-sparse-{u}",
        sparse=True,
    )
    assert noted.SyncToken == "1"
    assert noted.PrivateNote == "sparse bill"
    assert noted.TotalAmt == bill.TotalAmt
    assert noted.Line is not None
    assert [ln.Amount for ln in noted.Line] == [ln.Amount for ln in bill.Line or []]
    assert noted.VendorRef is not None
    assert noted.VendorRef.value == vendor.Id


async def test_invoice_query_count_and_paged_iterate(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:6]
    customer = await s.create(Customer(DisplayName=f"Pager {u}"), request_id=f"pager-{u}")
    item = await one(s, Item, "Name", "Hours")
    ids = []
    for i in range(5):
        inv = await s.create(
            Invoice(
                CustomerRef=Ref(value=ident(customer)),
                DocNumber=f"Q{u}-{i}",
                Line=[sales_line(item.Id, "1", f"{i + 1}.25", f"{i + 1}.25")],
            ),
            request_id=f"pager-inv-{u}-{i}",
        )
        ids.append(inv.Id)
    mine = Query(Invoice).where("CustomerRef", "=", ident(customer)).order_by("DocNumber")
    assert await s.count(mine) == 5
    first_page = await s.query(mine.page(1, 2))
    assert [r.DocNumber for r in first_page] == [f"Q{u}-0", f"Q{u}-1"]
    paged = [r async for r in s.iterate(mine.page(1, 2))]
    assert [r.Id for r in paged] == ids
    assert [r.TotalAmt for r in paged] == [Decimal(f"{i + 1}.25") for i in range(5)]
    by_doc = await s.query(Query(Invoice).where("DocNumber", "=", f"Q{u}-3"))
    assert [r.Id for r in by_doc] == [ids[3]]
    big = (
        Query(Invoice)
        .where("TotalAmt", ">", Decimal("3"))
        .where("CustomerRef", "=", ident(customer))
    )
    assert await s.count(big) == 3


async def test_batch_update_delete_and_query_items(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:6]
    customer = await s.create(Customer(DisplayName=f"Batcher {u}"), request_id=f"batcher-{u}")
    item = await one(s, Item, "Name", "Hours")
    created = await s.batch(
        [
            BatchOp.create(
                Invoice(
                    CustomerRef=Ref(value=ident(customer)),
                    DocNumber=f"B{u}-{i}",
                    Line=[sales_line(item.Id, "1", "10", "10.00")],
                )
            )
            for i in range(3)
        ],
        request_id=f"batch-create-{u}",
    )
    invoices = [r.entity for r in created]
    assert all(isinstance(inv, Invoice) for inv in invoices)
    first, second, third = (inv for inv in invoices if isinstance(inv, Invoice))

    results = await s.batch(
        [
            BatchOp.update(
                Invoice(Id=first.Id, SyncToken=first.SyncToken, PrivateNote="batch sparse"),
                sparse=True,
            ),
            BatchOp.update(
                second.model_copy(update={"Line": [sales_line(item.Id, "2", "10", "20.00")]})
            ),
            BatchOp.delete(third),
            BatchOp.update(
                Invoice(Id=first.Id, SyncToken="7", PrivateNote="stale"), sparse=True, bid="stale"
            ),
        ],
        request_id=f"batch-write-{u}",
    )
    assert [r.ok for r in results] == [True, True, True, False]
    sparse, full, deleted, stale = results
    assert isinstance(sparse.entity, Invoice)
    assert sparse.entity.PrivateNote == "batch sparse"
    assert sparse.entity.TotalAmt == Decimal("10.00")
    assert isinstance(full.entity, Invoice)
    assert full.entity.TotalAmt == Decimal("20.00")
    assert deleted.entity is not None
    assert deleted.entity.deleted
    assert isinstance(stale.error, errors.StaleObjectError)
    assert stale.error.code == "5010"
    assert stale.bid == "stale"

    mine = Query(Invoice).where("CustomerRef", "=", ident(customer)).order_by("DocNumber")
    queried = await s.batch(
        [
            BatchOp.select(mine),
            BatchOp.select(Query(Invoice).where("DocNumber", "=", f"B{u}-2")),
        ],
        request_id=f"batch-query-{u}",
    )
    rows, none = queried
    assert rows.rows is not None
    assert [(r.Id, r.PrivateNote, r.TotalAmt) for r in rows.rows if isinstance(r, Invoice)] == [
        (first.Id, "batch sparse", Decimal("10.00")),
        (second.Id, None, Decimal("20.00")),
    ]
    assert none.ok
    assert none.rows == []  # the deleted invoice is gone


async def test_realm_the_token_is_not_authorised_for(
    emulator_tokens: Callable[..., StaticTokenProvider],
) -> None:
    # The emulator accepts the static token, but knows no company with this realm id: QBO
    # answers such a request with 403 / 3100 ApplicationAuthorizationFailed.
    realm = str(9139990000000000 + uuid.uuid4().int % 10**9)
    async with QBOClient(emulator_tokens(realm), registry=CollectorRegistry()) as client:
        s = client.for_tenant(realm)
        with pytest.raises(errors.AuthorizationError) as denied:
            await s.get(Customer, "1")
        with pytest.raises(errors.AuthorizationError):
            await s.create(Customer(DisplayName="nope"), request_id=f"authz-{realm}")
    assert denied.value.status == 403
    assert denied.value.code == "3100"
    assert not denied.value.transient
    assert denied.value.intuit_tid


async def test_cdc_over_the_object_cap_splits_and_falls_back_to_queries(
    realm_client: MakeClient,
) -> None:
    registry = CollectorRegistry()
    client, realm = await realm_client(registry=registry)
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:6]
    since = datetime.now(UTC) - timedelta(minutes=1)
    # 1005 new customers in 34 batch calls push Customer alone past CDC's 1000-object cap.
    ops = [BatchOp.create(Customer(DisplayName=f"Cap{u}-{i:04d}")) for i in range(1005)]
    seeded = await s.batch(ops, request_id=f"cap-{u}")
    assert all(r.ok for r in seeded)
    customer = await one(s, Customer, "DisplayName", "Amy's Bird Sanctuary")
    item = await one(s, Item, "Name", "Hours")
    live, dropped = [
        await s.create(
            Invoice(CustomerRef=Ref(value=customer.Id), Line=[sales_line(item.Id, "1", "1", "1")]),
            request_id=f"cap-inv-{u}-{i}",
        )
        for i in range(2)
    ]
    await s.delete(dropped, request_id=f"cap-inv-del-{u}")

    changes = await s.cdc([Customer, Invoice], since)
    assert changes.queried == {"Customer"}
    names = {getattr(c, "DisplayName", None) for c in changes.changed["Customer"]}
    assert {f"Cap{u}-{i:04d}" for i in range(1005)} <= names
    assert live.Id in {c.Id for c in changes.changed["Invoice"]}
    assert [d.Id for d in changes.deleted["Invoice"]] == [dropped.Id]
    assert changes.time is not None
    # One combined CDC call over the cap, then one per half; Customer then went to queries.
    for entity in ("Customer,Invoice", "Customer", "Invoice"):
        labels = {"method": "cdc", "entity": entity, "outcome": "200"}
        assert registry.get_sample_value("qbo_client_calls_total", labels) == 1.0
    query_labels = {"method": "query", "entity": "Customer", "outcome": "200"}
    assert (registry.get_sample_value("qbo_client_calls_total", query_labels) or 0) >= 2


async def test_xml_fault_bodies_map_like_json(realm_client: MakeClient, admin: Any) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    created = await s.create(Customer(DisplayName=f"Xml {u}"), request_id=f"xml-{u}")
    # QBO sometimes answers faults in XML although the client asked for JSON.
    await admin.set_faults(realm, xml_errors=True)
    with pytest.raises(errors.StaleObjectError) as stale:
        await s.update(
            Customer(Id=created.Id, SyncToken="9", Notes="x"), request_id=f"xml-s-{u}", sparse=True
        )
    assert stale.value.code == "5010"
    assert stale.value.intuit_tid
    with pytest.raises(errors.DuplicateNameError) as dup:
        await s.create(Vendor(DisplayName=f"Xml {u}"), request_id=f"xml-dup-{u}")
    assert dup.value.code == "6240"
    assert dup.value.name == f"Xml {u}"
    with pytest.raises(errors.ObjectNotFoundError):
        await s.get(Customer, "987654")
    await admin.set_faults(realm)


async def test_retried_batch_replays_chunk_by_chunk(realm_client: MakeClient, admin: Any) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:6]
    ops = [BatchOp.create(Customer(DisplayName=f"R{u}-{i:02d}")) for i in range(31)]
    first = await s.batch(ops, request_id=f"replay-{u}")
    again = await s.batch(ops, request_id=f"replay-{u}")
    assert [r.ok for r in again] == [True] * 31
    assert [r.entity.Id for r in again if r.entity] == [r.entity.Id for r in first if r.entity]
    q = Query(Customer).where("DisplayName", "LIKE", f"R{u}-%").with_inactive()
    assert await s.count(q) == 31
    assert (await admin.stats(realm))["replayed"] == 2


class WriteBeforeFirstPage(httpx.AsyncBaseTransport):
    """Real HTTP, but runs ``write`` just before the first change query for ``entity``.

    That is a change made while ``cdc()`` is paging through another entity's queries.
    """

    def __init__(self, entity: str, write: Callable[[], Awaitable[None]]) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._entity = entity.encode()
        self._write = write
        self.fired = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if not self.fired and b"LastUpdatedTime >=" in body and b"FROM " + self._entity in body:
            self.fired = True
            await self._write()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_cdc_by_queries_returns_a_checkpoint_that_sees_changes_made_meanwhile(
    realm_client: MakeClient, emulator_tokens: Callable[..., StaticTokenProvider]
) -> None:
    _, realm = await realm_client()
    u = uuid.uuid4().hex[:6]
    other = QBOClient(emulator_tokens(realm), registry=CollectorRegistry())

    async def late_write() -> None:
        await other.for_tenant(realm).create(
            Customer(DisplayName=f"Late {u}"), request_id=f"late-{u}"
        )

    transport = WriteBeforeFirstPage("Invoice", late_write)
    spy = QBOClient(emulator_tokens(realm), transport=transport, registry=CollectorRegistry())
    try:
        s = spy.for_tenant(realm)
        early = await s.create(Customer(DisplayName=f"Early {u}"), request_id=f"early-{u}")
        result = await s.cdc([Customer, Invoice], datetime.now(UTC) - timedelta(days=45))
        assert transport.fired
        assert result.queried == {"Customer", "Invoice"}
        names = {getattr(c, "DisplayName", None) for c in result.changed["Customer"]}
        # Customer's pages were read before the late write: this run cannot have seen it.
        assert f"Early {u}" in names and f"Late {u}" not in names
        assert result.time is not None
        assert early.MetaData is not None and early.MetaData.LastUpdatedTime is not None
        assert result.time >= early.MetaData.LastUpdatedTime

        following = await s.cdc([Customer, Invoice], result.time)
        later = {getattr(c, "DisplayName", None) for c in following.changed.get("Customer", [])}
        assert f"Late {u}" in later
        assert following.queried == set()
    finally:
        await spy.aclose()
        await other.aclose()


async def test_iterate_pages_in_id_order_without_repeats_or_gaps(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:6]
    ops = [BatchOp.create(Customer(DisplayName=f"S{u}-{i:02d}")) for i in range(23)]
    created = await s.batch(ops, request_id=f"stable-{u}")
    ids = {ident(r.entity) for r in created if r.entity is not None}
    assert len(ids) == 23
    mine = Query(Customer).where("DisplayName", "LIKE", f"S{u}-%")

    # No ORDER BY from the caller: iterate adds ORDERBY Id, so 4 pages of 7 tile exactly.
    unordered = [ident(c) async for c in s.iterate(mine.page(1, 7))]
    assert len(unordered) == 23 and set(unordered) == ids
    assert [int(i) for i in unordered] == sorted(int(i) for i in unordered)

    # One batch stamps many rows with the same LastUpdatedTime; Id breaks those ties.
    by_time = [c async for c in s.iterate(mine.order_by("MetaData.LastUpdatedTime").page(1, 5))]
    assert {ident(c) for c in by_time} == ids and len(by_time) == 23
    keys = [(c.MetaData.LastUpdatedTime, int(ident(c))) for c in by_time if c.MetaData]
    assert keys == sorted(keys) and len(keys) == 23


async def test_payment_bill_bill_payment_credit_memo_query_count_iterate_and_stale(
    realm_client: MakeClient,
) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    # Fresh parties, so the queries below see only this test's rows, not the seeded ones.
    customer = await s.create(Customer(DisplayName=f"Q cust {u}"), request_id=f"qc-{u}")
    vendor = await s.create(Vendor(DisplayName=f"Q vend {u}"), request_id=f"qv-{u}")
    item = await one(s, Item, "Name", "Hours")
    expense = await one(s, Account, "Name", "Office Expenses")
    bank = await one(s, Account, "Name", "Checking")
    invoice = await s.create(
        Invoice(
            CustomerRef=Ref(value=ident(customer)),
            Line=[sales_line(item.Id, "1", "100", "100.00")],
        ),
        request_id=f"qi-{u}",
    )
    bill = await s.create(
        Bill(VendorRef=Ref(value=ident(vendor)), Line=[expense_line(expense.Id, "100.00")]),
        request_id=f"qb-{u}",
    )

    def payment(n: int) -> QBOEntity:
        return Payment(
            CustomerRef=Ref(value=ident(customer)),
            TotalAmt=Decimal(f"1.{n:02d}"),
            Line=[payment_line(f"1.{n:02d}", ident(invoice), "Invoice")],
        )

    def a_bill(n: int) -> QBOEntity:
        return Bill(
            VendorRef=Ref(value=ident(vendor)), Line=[expense_line(expense.Id, f"2.{n:02d}")]
        )

    def bill_payment(n: int) -> QBOEntity:
        return BillPayment(
            VendorRef=Ref(value=ident(vendor)),
            PayType="Check",
            CheckPayment={"BankAccountRef": {"value": bank.Id}},
            TotalAmt=Decimal(f"3.{n:02d}"),
            Line=[payment_line(f"3.{n:02d}", ident(bill), "Bill")],
        )

    def credit_memo(n: int) -> QBOEntity:
        return CreditMemo(
            CustomerRef=Ref(value=ident(customer)),
            Line=[sales_line(item.Id, "1", f"4.{n:02d}", f"4.{n:02d}")],
        )

    cases: list[tuple[Callable[[int], QBOEntity], Query[Any]]] = [
        (payment, Query(Payment).where("CustomerRef", "=", ident(customer))),
        (a_bill, Query(Bill).where("VendorRef", "=", ident(vendor))),
        (bill_payment, Query(BillPayment).where("VendorRef", "=", ident(vendor))),
        (credit_memo, Query(CreditMemo).where("CustomerRef", "=", ident(customer))),
    ]
    for make, q in cases:
        name = q.entity.ENTITY
        made = [await s.create(make(n), request_id=f"q-{name}-{n}-{u}") for n in range(5)]
        ids = {ident(obj) for obj in made}
        if q.entity is Bill:
            ids.add(ident(bill))  # the bill the bill payments are linked to
        assert {ident(r) for r in await s.query(q)} == ids, name
        assert await s.count(q) == len(ids), name
        assert len(await s.query(q.page(1, 2))) == 2, name
        paged = [ident(r) async for r in s.iterate(q.page(1, 2))]
        assert len(paged) == len(ids) and set(paged) == ids, name

        first = made[0]
        fresh = await s.update(
            type(first)(Id=first.Id, SyncToken=first.SyncToken, PrivateNote="first"),
            request_id=f"q-{name}-upd-{u}",
            sparse=True,
        )
        assert fresh.SyncToken == "1", name
        with pytest.raises(errors.StaleObjectError) as stale:
            # A full update built from the version read before the sparse update.
            await s.update(
                first.model_copy(update={"PrivateNote": "stale"}),
                request_id=f"q-{name}-stale-{u}",
            )
        assert stale.value.code == "5010", name
        assert not stale.value.transient
        assert getattr(await s.get(q.entity, ident(first)), "PrivateNote", None) == "first"


async def test_cdc_and_batch_with_vendor_bill_and_payment(realm_client: MakeClient) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:6]
    since = datetime.now(UTC) - timedelta(minutes=5)
    customer = await one(s, Customer, "DisplayName", "Amy's Bird Sanctuary")
    item = await one(s, Item, "Name", "Hours")
    expense = await one(s, Account, "Name", "Office Expenses")
    invoice = await s.create(
        Invoice(CustomerRef=Ref(value=customer.Id), Line=[sales_line(item.Id, "1", "50", "50.00")]),
        request_id=f"cv-inv-{u}",
    )

    vendors = await s.batch(
        [BatchOp.create(Vendor(DisplayName=f"BV{u}-{i}")) for i in range(2)]
        + [BatchOp.create(Vendor(DisplayName="Hicks Hardware"))],  # seeded: 6240
        request_id=f"cv-vendors-{u}",
    )
    assert [r.ok for r in vendors] == [True, True, False]
    assert isinstance(vendors[2].error, errors.DuplicateNameError)
    v1, v2 = (r.entity for r in vendors[:2])
    assert isinstance(v1, Vendor) and isinstance(v2, Vendor)

    writes = await s.batch(
        [
            BatchOp.create(
                Bill(VendorRef=Ref(value=ident(v1)), Line=[expense_line(expense.Id, "12.34")])
            ),
            BatchOp.create(
                Bill(VendorRef=Ref(value=ident(v2)), Line=[expense_line(expense.Id, "0.10")])
            ),
            BatchOp.create(
                Payment(
                    CustomerRef=Ref(value=customer.Id),
                    TotalAmt=Decimal("20.00"),
                    Line=[payment_line("20.00", ident(invoice), "Invoice")],
                )
            ),
            BatchOp.update(Vendor(Id=v2.Id, SyncToken=v2.SyncToken, CompanyName="V2"), sparse=True),
        ],
        request_id=f"cv-writes-{u}",
    )
    assert all(r.ok for r in writes), [r.error for r in writes]
    bill1, bill2, pay, v2_updated = (r.entity for r in writes)
    assert isinstance(bill1, Bill) and isinstance(bill2, Bill) and isinstance(pay, Payment)
    assert bill1.TotalAmt == Decimal("12.34")
    assert isinstance(v2_updated, Vendor) and v2_updated.CompanyName == "V2"
    assert (await s.get(Invoice, ident(invoice))).Balance == Decimal("30.00")

    second = await s.batch(
        [
            BatchOp.update(
                Bill(Id=bill1.Id, SyncToken=bill1.SyncToken, PrivateNote="batch"), sparse=True
            ),
            BatchOp.delete(bill2),
            BatchOp.delete(pay),
            BatchOp.select(Query(Bill).where("VendorRef", "=", ident(v1))),
            BatchOp.select(Query(Vendor).where("DisplayName", "LIKE", f"BV{u}-%")),
        ],
        request_id=f"cv-second-{u}",
    )
    assert all(r.ok for r in second), [r.error for r in second]
    assert second[3].rows is not None
    assert [(r.Id, getattr(r, "PrivateNote", None)) for r in second[3].rows] == [
        (bill1.Id, "batch")
    ]
    assert second[4].rows is not None
    assert {getattr(r, "DisplayName", None) for r in second[4].rows} == {f"BV{u}-0", f"BV{u}-1"}
    assert (await s.get(Invoice, ident(invoice))).Balance == Decimal("50.00")

    changes = await s.cdc([Vendor, Bill, Payment], since)
    assert changes.queried == set()
    assert changes.time is not None
    changed_vendors = {getattr(v, "DisplayName", None) for v in changes.changed.get("Vendor", [])}
    assert {f"BV{u}-0", f"BV{u}-1"} <= changed_vendors
    assert [b.Id for b in changes.changed.get("Bill", [])] == [bill1.Id]
    assert getattr(changes.changed["Bill"][0], "PrivateNote", None) == "batch"
    assert {b.Id for b in changes.deleted.get("Bill", [])} == {bill2.Id}
    assert {p.Id for p in changes.deleted.get("Payment", [])} == {pay.Id}
    assert all(p.Id != pay.Id for p in changes.changed.get("Payment", []))


async def test_transaction_referring_to_an_inactive_customer_or_item_is_610(
    realm_client: MakeClient,
) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:8]
    income = await one(s, Account, "Name", "Services")
    active_customer = await one(s, Customer, "DisplayName", "Amy's Bird Sanctuary")
    active_item = await one(s, Item, "Name", "Hours")
    customer = await s.create(Customer(DisplayName=f"Gone {u}"), request_id=f"ic-{u}")
    item = await s.create(
        Item(Name=f"Gone item {u}", Type="Service", IncomeAccountRef=Ref(value=income.Id)),
        request_id=f"ii-{u}",
    )
    await s.deactivate(customer, request_id=f"ic-off-{u}")
    await s.deactivate(item, request_id=f"ii-off-{u}")

    attempts = [
        Invoice(
            CustomerRef=Ref(value=ident(customer)),
            Line=[sales_line(active_item.Id, "1", "5", "5.00")],
        ),
        Invoice(
            CustomerRef=Ref(value=active_customer.Id),
            Line=[sales_line(ident(item), "1", "5", "5.00")],
        ),
    ]
    for n, attempt in enumerate(attempts):
        with pytest.raises(errors.ObjectNotFoundError) as info:
            await s.create(attempt, request_id=f"inactive-{n}-{u}")
        assert info.value.code == "610"
        assert not info.value.transient
    assert await s.count(Query(Invoice).where("CustomerRef", "=", ident(customer))) == 0

    in_batch = await s.batch([BatchOp.create(attempts[1])], request_id=f"inactive-batch-{u}")
    assert isinstance(in_batch[0].error, errors.ObjectNotFoundError)
    assert in_batch[0].error.code == "610"


async def test_batch_query_item_naming_an_unknown_property_fails_alone_with_4001(
    realm_client: MakeClient,
) -> None:
    client, realm = await realm_client()
    s = client.for_tenant(realm)
    u = uuid.uuid4().hex[:6]
    known = await s.create(Customer(DisplayName=f"Q4001 {u}"), request_id=f"q4001-known-{u}")
    results = await s.batch(
        [
            BatchOp.create(Customer(DisplayName=f"Q4001 new {u}")),
            BatchOp.select(Query(Customer).where("NoSuchProperty", "=", "x")),
            BatchOp.select(Query(Customer).where("DisplayName", "=", f"Q4001 {u}")),
        ],
        request_id=f"q4001-{u}",
    )
    created, bad, good = results
    assert isinstance(bad.error, errors.ValidationError)
    assert bad.error.code == "4001"
    assert "NoSuchProperty" in (bad.error.detail or "")
    assert not bad.error.transient
    assert bad.rows is None
    # The failing query item costs only itself: the write and the other query went through.
    assert created.ok and isinstance(created.entity, Customer)
    assert await one(s, Customer, "DisplayName", f"Q4001 new {u}")
    assert good.ok and good.rows is not None
    assert [r.Id for r in good.rows] == [known.Id]
