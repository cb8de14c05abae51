"""The internal token API benchmark (a `make bench` case) runs at a tiny scale and reports.

Figures are not asserted (a shared 2-core machine); that every request got its token is.
"""

from __future__ import annotations

import pytest

from oauth_gateway import bench

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_the_token_api_benchmark_serves_every_request_and_reports(gateway_db: str) -> None:
    result = await bench.measure(tenants=5, requests=60, concurrency=4, database_url=gateway_db)
    assert (result.tenants, result.requests) == (5, 60)
    assert result.per_second > 0
    assert result.p99_ms >= result.median_ms > 0
    rows = dict(result.rows())
    assert set(rows) == {
        "tenants / requests / concurrency",
        "requests/s (cached tokens)",
        "p99 latency",
        "median latency",
    }
