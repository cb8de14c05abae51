"""Client invoices, bills and credit memos into the emulator: amounts, skips, keys, adoption."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import upstream as up
from world import World, money

from qbsync_common.contract.tenant_settings import TenantSettings

pytestmark = pytest.mark.integration


async def ready(new_world: Callable[..., Any], **kwargs: Any) -> tuple[World, str]:
    """A world whose client c-1 is already synced (a QBO customer and partner-sync's answer)."""
    world: World = await new_world(**kwargs)
    key = world.customer(f"Acme {world.tenant}")
    await world.deliver(up.partner_synced(key))
    return world, key


async def test_invoice_with_short_lines_gets_a_balancing_line(
    new_world: Callable[..., Any],
) -> None:
    world, key = await ready(new_world)
    event = up.invoice(
        lines=[up.line("Translation", "100"), up.line("Proofreading", "200")],
        net_total=Decimal("400"),
        payment_terms={"name": "Net 45", "due_days": 45},
    )
    await world.deliver(event)

    [synced] = await world.results("qbsync.document.synced.v1")
    data = synced["data"]
    assert data["document_id"] == event.invoice_id
    assert money(data["total"]) == Decimal("400")
    assert data["doc_number"] == event.number
    assert data["adopted"] is False
    [qbo] = [r for r in world.records("Invoice") if r["Id"] == data["sync_key"]]
    assert qbo["CustomerRef"]["value"] == key
    amounts = [money(x["Amount"]) for x in qbo["Line"] if x["DetailType"] == "SalesItemLineDetail"]
    assert amounts == [Decimal(100), Decimal(200), Decimal(100)]
    assert "qbsync-op:" in qbo["PrivateNote"]
    assert qbo["DueDate"] == "2026-04-16"  # from the Net 45 term qbsync created
    names = {i["Name"] for i in world.records("Item")}
    assert {"Translation", "Proofreading", "Balance adjustment"} <= names
    row = await world.document("invoice", event.invoice_id)
    assert row["status"] == "synced"
    assert row["sync_key"] == data["sync_key"]
    assert row["expected_total"] == Decimal("400.00")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"pro_forma": True}, "pro-forma"),
        ({"net_total": Decimal(0), "lines": []}, "zero-total"),
        ({"number": None}, "no-number"),
        ({"status": "draft"}, "status-not-configured"),
        ({"modified_at": "2025-06-01T00:00:00Z"}, "older-than-cutoff"),
        ({"kind": "vendor", "status": "approved"}, "partner-kind-disabled"),
    ],
)
async def test_every_skip_reason_is_recorded_and_sent(
    new_world: Callable[..., Any], changes: dict[str, Any], reason: str
) -> None:
    settings = TenantSettings(sync_vendors=False, sync_items_newer_than=date(2026, 1, 1))
    world, _ = await ready(new_world, settings=settings)
    event = up.invoice(**changes)
    await world.deliver(event)

    [skipped] = await world.results("qbsync.document.skipped.v1")
    assert skipped["data"]["reason_code"] == reason
    assert (await world.document(skipped["data"]["document_kind"], event.invoice_id))[
        "reason_code"
    ] == reason
    assert world.records("Invoice") == []
    assert world.records("Bill") == []


async def test_single_currency_company_converts_with_the_upstream_rate(
    new_world: Callable[..., Any],
) -> None:
    world, _ = await ready(new_world)
    # 3 x 0.05 EUR at 1.1: lines round half-even to 0.06 each, the total (0.165) to 0.16.
    event = up.invoice(
        currency="EUR",
        exchange_rate=Decimal("1.1"),
        lines=[up.line("Words", "0.05")] * 3,
        net_total=Decimal("0.15"),
    )
    await world.deliver(event)

    [synced] = await world.results("qbsync.document.synced.v1")
    assert money(synced["data"]["total"]) == Decimal("0.16")
    assert synced["data"]["currency"] == "USD"
    [qbo] = world.records("Invoice")
    amounts = [money(x["Amount"]) for x in qbo["Line"] if x["DetailType"] == "SalesItemLineDetail"]
    assert amounts == [Decimal("0.06")] * 3 + [Decimal("-0.02")]


async def test_multi_currency_company_keeps_the_partner_currency(
    new_world: Callable[..., Any],
) -> None:
    world: World = await new_world(multicurrency=True)
    key = world.customer(f"Euro {world.tenant}", currency="EUR")
    await world.deliver(up.partner_synced(key))
    event = up.invoice(
        currency="EUR",
        exchange_rate=Decimal("1.0825"),
        lines=[up.line("Translation", "1440.00", "12000", "0.12")],
        net_total=Decimal("1440.00"),
    )
    await world.deliver(event)

    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["currency"] == "EUR"
    assert money(synced["data"]["total"]) == Decimal("1440.00")
    [qbo] = world.records("Invoice")
    assert qbo["CurrencyRef"]["value"] == "EUR"
    assert money(qbo["ExchangeRate"]) == Decimal("1.0825")
    assert money(qbo["HomeTotalAmt"]) == Decimal("1558.80")


async def test_missing_partner_is_requested_and_the_invoice_resumes(
    new_world: Callable[..., Any],
) -> None:
    world: World = await new_world()
    event = up.invoice(partner_id="c-9", partner=up.partner("c-9"))
    await world.deliver(event)

    [request] = await world.results("qbsync.partner.sync_requested.v1")
    assert request["data"]["partner_id"] == "c-9"
    assert request["data"]["partner"]["name"] == "Partner c-9"
    assert (await world.document("invoice", event.invoice_id))["status"] == "waiting_partner"
    assert world.records("Invoice") == []

    key = world.customer(f"C9 {world.tenant}")
    await world.deliver(up.partner_synced(key, partner_id="c-9"))
    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["document_id"] == event.invoice_id
    assert len(world.records("Invoice")) == 1


async def test_partner_that_cannot_be_synced_fails_the_waiting_invoice(
    new_world: Callable[..., Any],
) -> None:
    world: World = await new_world()
    event = up.invoice(partner_id="c-7")
    await world.deliver(event)
    await world.deliver(up.partner_failed("c-7", "name-conflict", "A vendor has that name."))
    [failed] = await world.results("qbsync.document.sync_failed.v1")
    assert failed["data"]["reason_code"] == "partner-not-synced"
    assert "A vendor has that name." in failed["data"]["message"]
    assert (await world.document("invoice", event.invoice_id))["status"] == "failed"


async def test_partner_lost_to_a_revoked_connection_fails_the_invoice_until_the_partner_syncs(
    new_world: Callable[..., Any],
) -> None:
    """The partner's failure came after the reconnect had re-driven what failed (a race between
    the two services): the invoice fails for the connection, and the partner's sync after the
    reconnect still resumes it."""
    from datetime import UTC, datetime

    from qbsync_common.contract.events import TenantConnectionRecovered

    world: World = await new_world()
    event = up.invoice(partner_id="c-8", partner=up.partner("c-8"))
    await world.deliver(event)
    assert (await world.document("invoice", event.invoice_id))["status"] == "waiting_partner"
    await world.deliver(
        TenantConnectionRecovered(realm_id=world.realm, recovered_at=datetime.now(UTC))
    )
    await world.deliver(
        up.partner_failed("c-8", "needs-reauthorization", "The tenant must reconnect QuickBooks.")
    )
    [failed] = await world.results("qbsync.document.sync_failed.v1")
    assert failed["data"]["reason_code"] == "needs-reauthorization"
    assert (await world.document("invoice", event.invoice_id))["status"] == "failed"

    key = world.customer(f"C8 {world.tenant}")
    await world.deliver(up.partner_synced(key, partner_id="c-8"))
    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["document_id"] == event.invoice_id
    assert len(world.records("Invoice")) == 1


async def test_vendor_invoice_without_client_key_fails(new_world: Callable[..., Any]) -> None:
    world: World = await new_world()
    vendor = world.vendor(f"Vendor {world.tenant}")
    await world.deliver(up.partner_synced(vendor, partner_id="v-1", kind="vendor"))
    event = up.invoice(kind="vendor", status="approved", partner_id="v-1", client_id="c-404")
    await world.deliver(event)

    [failed] = await world.results("qbsync.document.sync_failed.v1")
    assert failed["data"]["reason_code"] == "client-not-synced"
    assert failed["data"]["document_kind"] == "bill"
    assert world.records("Bill") == []


async def test_vendor_invoice_becomes_a_bill(new_world: Callable[..., Any]) -> None:
    world: World = await new_world()
    vendor = world.vendor(f"Vendor {world.tenant}")
    await world.deliver(up.partner_synced(vendor, partner_id="v-1", kind="vendor"))
    event = up.invoice(kind="vendor", status="approved", partner_id="v-1")
    await world.deliver(event)

    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["document_kind"] == "bill"
    [bill] = world.records("Bill")
    assert bill["VendorRef"]["value"] == vendor
    assert money(bill["TotalAmt"]) == Decimal("300.00")


async def test_credit_memo_becomes_a_credit_memo(new_world: Callable[..., Any]) -> None:
    world, key = await ready(new_world)
    event = up.credit_memo()
    await world.deliver(event)

    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["document_kind"] == "credit_memo"
    [memo] = world.records("CreditMemo")
    assert memo["CustomerRef"]["value"] == key
    assert money(memo["TotalAmt"]) == Decimal("60.00")


async def test_existing_document_with_the_same_number_is_adopted(
    new_world: Callable[..., Any],
) -> None:
    world, key = await ready(new_world)
    item = world.item_id("Services")
    existing = world.qbo(
        "POST",
        "invoice",
        json={
            "CustomerRef": {"value": key},
            "DocNumber": "A-77",
            "Line": [
                {
                    "Amount": 300,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": item}},
                }
            ],
        },
    )["Invoice"]
    await world.deliver(up.invoice(number="A-77"))

    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["adopted"] is True
    assert synced["data"]["sync_key"] == existing["Id"]
    assert len(world.records("Invoice")) == 1


async def test_adopted_document_with_another_total_needs_review(
    new_world: Callable[..., Any],
) -> None:
    world, key = await ready(new_world)
    item = world.item_id("Services")
    world.qbo(
        "POST",
        "invoice",
        json={
            "CustomerRef": {"value": key},
            "DocNumber": "A-78",
            "Line": [
                {
                    "Amount": 310,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": item}},
                }
            ],
        },
    )
    event = up.invoice(number="A-78")
    await world.deliver(event)

    [review] = await world.results("qbsync.document.needs_review.v1")
    assert review["data"]["reason"] == "total-variance"
    assert money(review["data"]["expected"]) == Decimal("300.00")
    assert money(review["data"]["qbo_total"]) == Decimal("310")
    assert (await world.document("invoice", event.invoice_id))["status"] == "needs_review"


async def test_company_that_cannot_take_documents_gets_a_clear_message(
    new_world: Callable[..., Any],
) -> None:
    world, _ = await ready(new_world, settings=TenantSettings(income_account_id="424242"))
    await world.deliver(up.invoice())

    [failed] = await world.results("qbsync.document.sync_failed.v1")
    assert failed["data"]["reason_code"] == "company-not-ready"
    assert "424242" in failed["data"]["message"]
    assert "does not exist" in failed["data"]["message"]
    assert world.records("Invoice") == []


async def test_item_made_inactive_in_qbo_is_looked_up_again_and_reported(
    new_world: Callable[..., Any],
) -> None:
    from qbsync_common.messaging.errors import TransientError

    world, _ = await ready(new_world)
    await world.deliver(up.invoice())
    item = next(i for i in world.records("Item") if i["Name"] == "Translation")
    world.qbo(
        "POST",
        "item",
        json={"Id": item["Id"], "SyncToken": item["SyncToken"], "sparse": True, "Active": False},
    )
    event = up.invoice()
    with pytest.raises(TransientError):
        await world.deliver(event)  # the cached id is refused: forget it, retry later
    await world.deliver(event)  # the retry finds the item inactive and says so

    [failed] = await world.results("qbsync.document.sync_failed.v1")
    assert failed["data"]["reason_code"] == "company-not-ready"
    assert "'Translation' is inactive" in failed["data"]["message"]
    assert len(world.records("Invoice")) == 1


async def test_bill_lines_carry_the_client_when_the_tenant_wants(
    new_world: Callable[..., Any],
) -> None:
    world: World = await new_world(settings=TenantSettings(bill_lines_billable_to_client=True))
    vendor = world.vendor(f"Vendor {world.tenant}")
    client = world.customer(f"Client {world.tenant}")
    await world.deliver(up.partner_synced(vendor, partner_id="v-1", kind="vendor"))
    await world.deliver(up.partner_synced(client, partner_id="c-5"))
    await world.deliver(
        up.invoice(kind="vendor", status="approved", partner_id="v-1", client_id="c-5")
    )

    [bill] = world.records("Bill")
    details = [line["ItemBasedExpenseLineDetail"] for line in bill["Line"]]
    assert {d["CustomerRef"]["value"] for d in details} == {client}
    assert {d["BillableStatus"] for d in details} == {"Billable"}


async def test_vanished_document_is_recreated_on_request(new_world: Callable[..., Any]) -> None:
    from qbsync_common.contract.events import RecreateDocument

    world, _ = await ready(new_world)
    event = up.invoice()
    await world.deliver(event)
    first = (await world.document("invoice", event.invoice_id))["sync_key"]
    qbo = world.record("Invoice", first)["record"]
    world.qbo(
        "POST",
        "invoice",
        params={"operation": "delete"},
        json={"Id": qbo["Id"], "SyncToken": qbo["SyncToken"]},
    )

    request = RecreateDocument(
        document_kind="invoice",
        document_id=event.invoice_id,
        missing_sync_key=first,
        reason="not-found-in-qbo",
    )
    await world.deliver(request)
    await world.deliver(request)  # a second (stale) request changes nothing

    row = await world.document("invoice", event.invoice_id)
    assert row["status"] == "synced"
    assert row["sync_key"] not in (None, first)
    synced = await world.results("qbsync.document.synced.v1")
    assert [s["data"]["sync_key"] for s in synced] == [first, row["sync_key"]]
    assert world.record("Invoice", row["sync_key"])["deleted"] is False


async def test_documents_failed_for_a_lost_connection_retry_on_reconnect(
    new_world: Callable[..., Any],
) -> None:
    from datetime import UTC, datetime

    from qbsync_common.contract.events import TenantConnectionRecovered

    world, _ = await ready(new_world)
    world.tokens.connected = False
    event = up.invoice()
    await world.deliver(event)
    [failed] = await world.results("qbsync.document.sync_failed.v1")
    assert failed["data"]["reason_code"] == "tenant-not-connected"

    world.tokens.connected = True
    await world.deliver(
        TenantConnectionRecovered(realm_id=world.realm, recovered_at=datetime.now(UTC))
    )

    assert (await world.document("invoice", event.invoice_id))["status"] == "synced"
    assert len(world.records("Invoice")) == 1


def set_automated_sales_tax(world: World, on: bool) -> None:
    """A QuickBooks admin switches automated sales tax in the company's settings."""
    current = world.qbo("GET", "preferences")["Preferences"]
    world.qbo(
        "POST",
        "preferences",
        json={
            "Id": current["Id"],
            "SyncToken": current["SyncToken"],
            "sparse": True,
            "TaxPrefs": {"UsingSalesTax": on, "PartnerTaxEnabled": on},
        },
    )
    assert world.qbo("GET", "preferences")["Preferences"]["TaxPrefs"]["PartnerTaxEnabled"] is on


async def test_preferences_change_is_checked_again_before_the_next_document(
    new_world: Callable[..., Any],
) -> None:
    world, _ = await ready(new_world)
    first = up.invoice()
    await world.deliver(first)
    assert (await world.document("invoice", first.invoice_id))["status"] == "synced"

    set_automated_sales_tax(world, True)
    await world.deliver(up.entities_changed(world.realm, "Preferences"))
    refused = up.invoice()
    await world.deliver(refused)

    [failed] = await world.results("qbsync.document.sync_failed.v1")
    assert failed["data"]["document_id"] == refused.invoice_id
    assert failed["data"]["reason_code"] == "company-not-ready"
    assert "automated sales tax on" in failed["data"]["message"]
    assert f"'Co {world.realm}'" in failed["data"]["message"]  # the name from CompanyInfo
    assert [r["DocNumber"] for r in world.records("Invoice")] == [first.number]

    set_automated_sales_tax(world, False)
    await world.deliver(up.entities_changed(world.realm, "Preferences"))
    await world.deliver(refused)  # the upstream app's retry of the same snapshot

    row = await world.document("invoice", refused.invoice_id)
    assert row["status"] == "synced"
    assert {r["DocNumber"] for r in world.records("Invoice")} == {first.number, refused.number}


async def test_automated_sales_tax_leaves_bills_alone(new_world: Callable[..., Any]) -> None:
    world: World = await new_world()
    set_automated_sales_tax(world, True)
    await world.deliver(up.partner_synced(world.vendor(f"V {world.tenant}"), "v-1", "vendor"))
    bill = up.invoice(kind="vendor", status="approved", partner_id="v-1")
    await world.deliver(bill)

    assert (await world.document("bill", bill.invoice_id))["status"] == "synced"
    assert len(world.records("Bill")) == 1


PROJECTS = TenantSettings(projects_as_sub_customers=True, bill_lines_billable_to_client=True)


async def vendor_and_client(world: World) -> tuple[str, str]:
    """Vendor v-1 and client c-5, both synced."""
    vendor = world.vendor(f"Vendor {world.tenant}")
    client = world.customer(f"Client {world.tenant}")
    await world.deliver(up.partner_synced(vendor, partner_id="v-1", kind="vendor"))
    await world.deliver(up.partner_synced(client, partner_id="c-5"))
    return vendor, client


async def test_vendor_invoice_for_a_project_without_key_fails(
    new_world: Callable[..., Any],
) -> None:
    world: World = await new_world(settings=PROJECTS)
    await vendor_and_client(world)
    event = up.invoice(
        kind="vendor", status="approved", partner_id="v-1", client_id="c-5", project_id="p-404"
    )
    await world.deliver(event)

    [failed] = await world.results("qbsync.document.sync_failed.v1")
    assert failed["data"]["reason_code"] == "project-not-synced"
    assert "p-404" in failed["data"]["message"]
    assert (await world.document("bill", event.invoice_id))["status"] == "failed"
    assert world.records("Bill") == []


async def test_project_sub_customer_is_the_billable_customer_of_bill_lines(
    new_world: Callable[..., Any],
) -> None:
    world: World = await new_world(settings=PROJECTS)
    _, client = await vendor_and_client(world)
    job = world.qbo(
        "POST",
        "customer",
        json={"DisplayName": f"Job {world.tenant}", "Job": True, "ParentRef": {"value": client}},
    )["Customer"]["Id"]
    await world.deliver(up.project_synced(job))
    await world.deliver(
        up.invoice(
            kind="vendor", status="approved", partner_id="v-1", client_id="c-5", project_id="p-1"
        )
    )

    [bill] = world.records("Bill")
    details = [line["ItemBasedExpenseLineDetail"] for line in bill["Line"]]
    assert {d["CustomerRef"]["value"] for d in details} == {job}
    assert {d["BillableStatus"] for d in details} == {"Billable"}


def lines_of(world: World, kind: str) -> list[dict[str, Any]]:
    item = world.item_id("Services")
    if kind == "bill":
        return [
            {
                "Amount": 300,
                "DetailType": "ItemBasedExpenseLineDetail",
                "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item}},
            }
        ]
    return [
        {
            "Amount": 60,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item}},
        }
    ]


async def test_existing_bill_with_the_same_number_is_adopted(
    new_world: Callable[..., Any],
) -> None:
    world: World = await new_world()
    vendor = world.vendor(f"Vendor {world.tenant}")
    await world.deliver(up.partner_synced(vendor, partner_id="v-1", kind="vendor"))
    existing = world.qbo(
        "POST",
        "bill",
        json={"VendorRef": {"value": vendor}, "DocNumber": "B-12", "Line": lines_of(world, "bill")},
    )["Bill"]
    event = up.invoice(kind="vendor", status="approved", partner_id="v-1", number="B-12")
    await world.deliver(event)

    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["adopted"] is True
    assert synced["data"]["sync_key"] == existing["Id"]
    assert len(world.records("Bill")) == 1
    assert (await world.document("bill", event.invoice_id))["adopted"] is True


async def test_existing_credit_memo_with_the_same_number_is_adopted(
    new_world: Callable[..., Any],
) -> None:
    world, key = await ready(new_world)
    existing = world.qbo(
        "POST",
        "creditmemo",
        json={"CustomerRef": {"value": key}, "DocNumber": "CM-7", "Line": lines_of(world, "cm")},
    )["CreditMemo"]
    await world.deliver(up.credit_memo(number="CM-7"))

    [synced] = await world.results("qbsync.document.synced.v1")
    assert synced["data"]["document_kind"] == "credit_memo"
    assert synced["data"]["adopted"] is True
    assert synced["data"]["sync_key"] == existing["Id"]
    assert len(world.records("CreditMemo")) == 1


@pytest.mark.parametrize("kind", ["invoice", "credit_memo"])
async def test_number_used_by_another_partners_document_fails_and_creates_nothing(
    new_world: Callable[..., Any], kind: str
) -> None:
    world, _ = await ready(new_world)
    other = world.customer(f"Other {world.tenant}")
    entity = "Invoice" if kind == "invoice" else "CreditMemo"
    world.qbo(
        "POST",
        entity.lower(),
        json={"CustomerRef": {"value": other}, "DocNumber": "X-1", "Line": lines_of(world, kind)},
    )
    event = up.invoice(number="X-1") if kind == "invoice" else up.credit_memo(number="X-1")
    await world.deliver(event)

    [failed] = await world.results("qbsync.document.sync_failed.v1")
    assert failed["data"]["document_kind"] == kind
    assert failed["data"]["reason_code"] == "qbo-validation"
    assert "X-1 is already used in QuickBooks by another partner" in failed["data"]["message"]
    [only] = world.records(entity)
    assert only["CustomerRef"]["value"] == other


async def test_document_in_another_currency_than_its_partner_fails_with_currency_mismatch(
    new_world: Callable[..., Any],
) -> None:
    world: World = await new_world(multicurrency=True)
    await world.deliver(up.partner_synced(world.customer(f"Euro {world.tenant}", "EUR")))
    event = up.invoice(currency="GBP", exchange_rate=Decimal("1.27"))
    await world.deliver(event)

    [failed] = await world.results("qbsync.document.sync_failed.v1")
    assert failed["data"]["reason_code"] == "currency-mismatch"
    assert "GBP" in failed["data"]["message"]
    assert "EUR" in failed["data"]["message"]
    row = await world.document("invoice", event.invoice_id)
    assert (row["status"], row["reason_code"]) == ("failed", "currency-mismatch")
    assert world.records("Invoice") == []
