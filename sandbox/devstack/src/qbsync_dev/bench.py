"""`make bench`: each case prints its own result lines; the run ends with a summary table."""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable

Case = Callable[[], Awaitable[list[tuple[str, str]]]]

# name -> "module:function"; a case returns (metric, value) rows. Cases live next to what they measure.
CASES: dict[str, str] = {
    "plumbing": "qbsync_dev.bench_plumbing:run",
    "poison": "qbsync_dev.bench_poison:run",  # RELIABILITY §8 B1: good messages' p99 lag
    "emulator": "qbsync_dev.bench_qbo:run_emulator",
    "qbo-client": "qbsync_dev.bench_qbo:run_client",
    "payment-poller": "qbsync_dev.bench_payment_poller:run",
    "invoice-sync": "qbsync_dev.bench_invoice_sync:run",
    "partner-sync": "qbsync_dev.bench_partner_sync:run",
    "oauth-gateway": "oauth_gateway.bench:run",  # internal token API, cached, 100 tenants
    "system": "qbsync_dev.bench_system:run",  # RELIABILITY §8 L1/L2: the whole stack, many tenants
}


def _load(target: str) -> Case:
    module, _, func = target.partition(":")
    case: Case = getattr(importlib.import_module(module), func)
    return case


async def run(only: list[str] | None) -> int:
    rows: list[tuple[str, str, str]] = []
    failed = 0
    for name, target in CASES.items():
        if only and name not in only:
            continue
        print(f"\n## {name}", flush=True)
        started = time.perf_counter()
        try:
            for metric, value in await _load(target)():
                rows.append((name, metric, value))
                print(f"  {metric}: {value}", flush=True)
        except Exception as exc:
            failed += 1
            rows.append((name, "error", repr(exc)))
            print(f"  FAILED: {exc!r}", flush=True)
        print(f"  ({time.perf_counter() - started:.1f}s)", flush=True)
    print("\n| case | metric | value |\n|---|---|---|")
    for name, metric, value in rows:
        print(f"| {name} | {metric} | {value} |")
    return 1 if failed else 0
