"""Every operation on every entity qbsync uses, against the real QBO emulator."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

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
from qbo_client.models import AccountBasedExpenseLineDetail, NameListEntity, SalesItemLineDetail

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
