"""Throughput benchmark: N concurrent clients creating and reading customers on a running emulator.

Starts nothing itself: point it at an emulator that accepts the given bearer token for every
realm (EmulatorConfig.static_tokens), e.g. `python -m qbo_emulator.bench --url http://127.0.0.1:8080`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass

import aiohttp


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0


async def _worker(
    session: aiohttp.ClientSession, base: str, deadline: float, tally: Tally, worker: int
) -> None:
    created: list[str] = []
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        # Alternate creates and reads so both paths are measured.
        if n % 2 or not created:
            body = json.dumps({"DisplayName": f"Bench {worker}-{n}-{uuid.uuid4().hex[:6]}"})
            async with session.post(f"{base}/customer", data=body) as response:
                payload = await response.read()
                if response.status == 200:
                    created.append(json.loads(payload)["Customer"]["Id"])
        else:
            async with session.get(f"{base}/customer/{created[n % len(created)]}") as response:
                await response.read()
        if response.status == 200:
            tally.ok += 1
        else:
            tally.failed += 1


async def main(argv: list[str] | None = None) -> float:
    """Run the benchmark, print requests/s and return it."""
    parser = argparse.ArgumentParser(prog="qbo-emulator-bench")
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", default="bench-token")
    parser.add_argument("--realm", default=None, help="existing realm; default: create one")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    headers = {
        "Authorization": f"Bearer {args.token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        realm_id = args.realm
        if realm_id is None:
            realm_id = str(uuid.uuid4().int % 10**15)
            company = {"realm_id": realm_id, "company_name": "Bench Co", "seeded": False}
            async with session.post(f"{args.url}/_emulator/companies", json=company) as response:
                response.raise_for_status()
        base = f"{args.url}/v3/company/{realm_id}"
        tally = Tally()
        started = time.perf_counter()
        deadline = started + args.seconds
        await asyncio.gather(
            *(_worker(session, base, deadline, tally, i) for i in range(args.concurrency))
        )
        elapsed = time.perf_counter() - started
    rate = tally.ok / elapsed
    print(
        f"emulator create+read: {tally.ok} ok, {tally.failed} failed in {elapsed:.1f}s "
        f"= {rate:.0f} requests/s ({args.concurrency} concurrent clients)"
    )
    return rate


if __name__ == "__main__":
    asyncio.run(main())
