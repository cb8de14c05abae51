"""The mixed workload keeps each tenant's causal order and the tally counts what came back."""

from __future__ import annotations

from decimal import Decimal

from qbsync_common.contract import events
from qbsync_dev.demo.story import document_key, export_key, partner_key
from qbsync_dev.workload import Mix, Tally, build_load, interleave


def test_a_load_holds_the_mix_in_causal_order() -> None:
    mix = Mix(clients=3, vendors=2, invoices=5, bills=3, payments=2)
    load = build_load("t1", "ab12", mix, "Sent", "Approved")
    assert len(load.events) == mix.events == 15
    position: dict[tuple[str, str], int] = {}
    for i, event in enumerate(load.events):
        match event:
            case events.PartnerUpserted():
                position[("partner", event.partner_id)] = i
            case events.InvoiceStatusChanged():
                assert position[("partner", event.partner_id)] < i
                assert event.net_total == sum(line.amount for line in event.lines) > Decimal(0)
                position[("invoice", event.invoice_id)] = i
            case events.PaymentRecordedUpstream():
                assert position[("invoice", event.invoice_id)] < i
    assert len(load.expected) == 15
    assert load.expected[export_key("pay-ab12-1")] == "synced"
    assert load.expected[document_key("bill", "vinv-ab12-2")] == "synced"
    assert load.expected[partner_key("vendor", "v-ab12-1")] == "synced"
    assert len(set(load.invoice_numbers + load.bill_numbers)) == 8
    assert all("ab12" in name for name in load.customers + load.vendors)


def test_interleave_alternates_tenants_and_keeps_each_order() -> None:
    a = build_load("a", "aaaa", Mix(2, 1, 2, 1, 1), "Sent", "Approved")
    b = build_load("b", "bbbb", Mix(1, 1, 1, 0, 0), "Sent", "Approved")
    stream = list(interleave([a, b]))
    assert [t for t, _ in stream[:4]] == ["a", "b", "a", "b"]
    assert [e for t, e in stream if t == "a"] == a.events
    assert [e for t, e in stream if t == "b"] == b.events


def test_tally_counts_done_results_per_report_and_lists_what_is_missing() -> None:
    load = build_load("t1", "cd34", Mix(1, 0, 1, 0, 0), "Sent", "Approved")
    tally = Tally.of([load])
    synced = events.PartnerSynced.model_validate(
        {**events.PartnerSynced.model_json_schema()["examples"][0],
         "kind": "client", "partner_id": "c-cd34-0"}
    )  # fmt: skip
    assert tally.missing() == [
        f"t1 {partner_key('client', 'c-cd34-0')}: nothing yet",
        f"t1 {document_key('invoice', 'inv-cd34-0')}: nothing yet",
    ]
    tally.take("t1", synced.event_type, synced, 1.0)
    tally.take("t1", synced.event_type, synced, 2.0)
    tally.take("other", synced.event_type, synced, 2.0)
    assert tally.reports[("t1", partner_key("client", "c-cd34-0"))] == 2
    assert tally.done_at[("t1", partner_key("client", "c-cd34-0"))] == 1.0
    assert tally.missing() == [f"t1 {document_key('invoice', 'inv-cd34-0')}: nothing yet"]
    assert not tally.complete() and tally.complete("other")
