"""The invoice-sync benchmark runs end to end at a tiny scale and judges issue 7's QBO-calls
target; the rates themselves are not asserted (a shared 2-core machine), that every invoice
arrived (or the run would time out) and what came back are."""

from __future__ import annotations

import pytest

from qbsync_dev import bench_invoice_sync


def test_the_calls_target_passes_at_the_budget_and_fails_above_it() -> None:
    assert bench_invoice_sync.judge_calls(120, 100) == "1.20 (target <= 1.2) PASS"
    assert bench_invoice_sync.judge_calls(121, 100) == "1.21 (target <= 1.2) FAIL"


@pytest.mark.integration
@pytest.mark.slow
async def test_the_invoice_sync_benchmark_runs_end_to_end_and_judges_its_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bench_invoice_sync, "INVOICES", 20)
    monkeypatch.setattr(bench_invoice_sync, "TENANTS", 2)
    monkeypatch.setattr(bench_invoice_sync, "RAW_MESSAGES", 1000)

    rows = dict(await bench_invoice_sync.run())

    raw = rows["raw broker throughput (publish+consume, confirms)"]
    assert float(raw.split()[0].replace(",", "")) > 0
    assert rows["invoices end to end (20 over 2 tenants)"].endswith(" invoices/s")
    assert rows["publish → document.synced p99"].endswith(" ms")
    calls = rows["issue 7 target: QBO calls per invoice"]
    assert calls.endswith(("PASS", "FAIL"))
    # Each invoice cost at least its own create.
    assert float(calls.split()[0]) >= 1.0
