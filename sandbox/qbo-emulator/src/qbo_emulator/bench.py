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


@dataclass
class Result:
    """Successful requests per second of each kind over the same run."""

    create_rate: float
    read_rate: float
    creates: Tally
    reads: Tally
    seconds: float

    def lines(self, concurrency: int) -> list[str]:
        total = self.create_rate + self.read_rate
        return [
            f"emulator create: {self.creates.ok} ok, {self.creates.failed} failed "
            f"= {self.create_rate:.0f} requests/s",
            f"emulator read: {self.reads.ok} ok, {self.reads.failed} failed "
            f"= {self.read_rate:.0f} requests/s",
            f"emulator create+read: {total:.0f} requests/s in {self.seconds:.1f}s "
            f"({concurrency} concurrent clients)",
        ]


async def _worker(
    session: aiohttp.ClientSession,
    base: str,
    deadline: float,
    creates: Tally,
    reads: Tally,
    worker: int,
) -> None:
    created: list[str] = []
    n = 0
    while time.perf_counter() < deadline:
        n += 1
        # Alternate creates and reads so both paths are measured under the same load.
        if n % 2 or not created:
            body = json.dumps({"DisplayName": f"Bench {worker}-{n}-{uuid.uuid4().hex[:6]}"})
            async with session.post(f"{base}/customer", data=body) as response:
                payload = await response.read()
            if response.status == 200:
                created.append(json.loads(payload)["Customer"]["Id"])
                creates.ok += 1
            else:
                creates.failed += 1
        else:
            async with session.get(f"{base}/customer/{created[n % len(created)]}") as response:
                await response.read()
            if response.status == 200:
                reads.ok += 1
            else:
                reads.failed += 1


async def run(url: str, token: str, realm: str | None, concurrency: int, seconds: float) -> Result:
    """Drive one realm of a running emulator for `seconds` with `concurrency` clients."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        realm_id = realm
        if realm_id is None:
            realm_id = str(uuid.uuid4().int % 10**15)
            company = {"realm_id": realm_id, "company_name": "Bench Co", "seeded": False}
            async with session.post(f"{url}/_emulator/companies", json=company) as response:
                response.raise_for_status()
        base = f"{url}/v3/company/{realm_id}"
        creates, reads = Tally(), Tally()
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(
            *(_worker(session, base, deadline, creates, reads, i) for i in range(concurrency))
        )
        elapsed = time.perf_counter() - started
    return Result(creates.ok / elapsed, reads.ok / elapsed, creates, reads, elapsed)


async def main(argv: list[str] | None = None) -> Result:
    """Run the benchmark and print create, read and combined requests/s, one per line."""
    parser = argparse.ArgumentParser(prog="qbo-emulator-bench")
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", default="bench-token")
    parser.add_argument("--realm", default=None, help="existing realm; default: create one")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    result = await run(args.url, args.token, args.realm, args.concurrency, args.seconds)
    for line in result.lines(args.concurrency):
        print(line)
    return result


if __name__ == "__main__":
    asyncio.run(main())
