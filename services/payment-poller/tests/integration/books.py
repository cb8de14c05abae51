"""Test-side QuickBooks bookkeeping: invoices, bills and payments made as a QBO user would."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from qbo_client import Account, Bill, Customer, Invoice, Item, Payment, Query, Vendor
from qbo_client.models import CreditMemo, Ref
from qbo_client.models.base import LinkedTxn
from qbo_client.models.transactions import (
    AccountBasedExpenseLineDetail,
    Line,
    SalesItemLineDetail,
)
from qbo_client.session import TenantSession


def rid() -> str:
    return uuid.uuid4().hex


class Books:
    """One realm's QBO company, driven through the QBO API and the emulator's admin API."""

    def __init__(
        self, session: TenantSession, emulator_url: str, realm_id: str, token: str = ""
    ) -> None:
        self.token = token
        self.s = session
        self.emulator_url = emulator_url
        self.realm_id = realm_id
        self._customer: str | None = None

    async def customer(self) -> str:
        if self._customer is None:
            rows = await self.s.query(
                Query(Customer).where("DisplayName", "=", "Amy's Bird Sanctuary")
            )
            self._customer = rows[0].Id
        assert self._customer is not None
        return self._customer

    async def other_customer(self) -> str:
        """A seeded customer other than customer()."""
        rows = await self.s.query(Query(Customer).where("DisplayName", "=", "Cool Cars"))
        assert rows[0].Id is not None and rows[0].Id != await self.customer()
        return rows[0].Id

    async def invoice(
        self, amount: str, number: str | None = None, customer: str | None = None
    ) -> Invoice:
        item = (await self.s.query(Query(Item).where("Name", "=", "Services")))[0]
        line = Line(
            Amount=Decimal(amount),
            DetailType="SalesItemLineDetail",
            SalesItemLineDetail=SalesItemLineDetail(
                ItemRef=Ref(value=item.Id or ""), Qty=Decimal(1), UnitPrice=Decimal(amount)
            ),
        )
        return await self.s.create(
            Invoice(
                CustomerRef=Ref(value=customer or await self.customer()),
                Line=[line],
                DocNumber=number or f"INV-{rid()[:8]}",
            ),
            request_id=rid(),
        )

    async def invoice_with_duplicate_number(self, amount: str, number: str) -> Invoice:
        """An invoice for customer() whose DocNumber is already used (QBO allows it on request)."""
        template = await self.invoice(amount)
        body = template.model_dump(mode="json", exclude_none=True, by_alias=True)
        for key in ("Id", "SyncToken", "MetaData", "domain", "sparse"):
            body.pop(key, None)
        body["DocNumber"] = number
        await self.s.delete(template, request_id=rid())
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{self.emulator_url}/v3/company/{self.realm_id}/invoice",
                params={"include": "allowduplicatedocnum", "requestid": rid()},
                headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                json=body,
            )
        response.raise_for_status()
        return Invoice.model_validate(response.json()["Invoice"])

    async def credit_memo(self, amount: str) -> CreditMemo:
        item = (await self.s.query(Query(Item).where("Name", "=", "Services")))[0]
        line = Line(
            Amount=Decimal(amount),
            DetailType="SalesItemLineDetail",
            SalesItemLineDetail=SalesItemLineDetail(
                ItemRef=Ref(value=item.Id or ""), Qty=Decimal(1), UnitPrice=Decimal(amount)
            ),
        )
        return await self.s.create(
            CreditMemo(CustomerRef=Ref(value=await self.customer()), Line=[line]), request_id=rid()
        )

    async def bill(self, amount: str) -> Bill:
        vendor = (await self.s.query(Query(Vendor).where("DisplayName", "=", "Hicks Hardware")))[0]
        expense = (await self.s.query(Query(Account).where("Name", "=", "Office Expenses")))[0]
        line = Line(
            Amount=Decimal(amount),
            DetailType="AccountBasedExpenseLineDetail",
            AccountBasedExpenseLineDetail=AccountBasedExpenseLineDetail(
                AccountRef=Ref(value=expense.Id or "")
            ),
        )
        return await self.s.create(
            Bill(VendorRef=Ref(value=vendor.Id or ""), Line=[line], DocNumber=f"B-{rid()[:8]}"),
            request_id=rid(),
        )

    async def user_pays(
        self,
        *,
        invoice_id: str | None = None,
        bill_id: str | None = None,
        amount: str | None = None,
    ) -> dict[str, Any]:
        """The emulator's "QuickBooks user records a payment" admin call."""
        body: dict[str, Any] = {"invoice_id": invoice_id, "bill_id": bill_id}
        if amount is not None:
            body["amount"] = amount
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{self.emulator_url}/_emulator/companies/{self.realm_id}/payments", json=body
            )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def payment(
        self, links: list[tuple[str, str, str]], total: str, note: str | None = None
    ) -> Payment:
        """A Payment with one line per (TxnType, TxnId, amount)."""
        lines = [
            Line(Amount=Decimal(amount), LinkedTxn=[LinkedTxn(TxnId=txn_id, TxnType=kind)])
            for kind, txn_id, amount in links
        ]
        return await self.s.create(
            Payment(
                CustomerRef=Ref(value=await self.customer()),
                TotalAmt=Decimal(total),
                Line=lines,
                PrivateNote=note,
                PaymentRefNum="CHK-1",
            ),
            request_id=rid(),
        )
