"""GatewayTokenProvider: the gateway's internal API contract, caching and error mapping."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from qbo_client import errors
from qbo_client.tokens import AccessToken, GatewayTokenProvider, StaticTokenProvider


def gateway(handler: httpx.MockTransport) -> GatewayTokenProvider:
    http = httpx.AsyncClient(transport=handler)
    return GatewayTokenProvider("http://gw.test/", "svc-secret", http=http)


def token_body(value: str, minutes: int) -> dict[str, str]:
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    return {
        "access_token": value,
        "realm_id": "9130",
        "api_base_url": "http://qbo.test",
        "expires_at": expires.isoformat().replace("+00:00", "Z"),
    }


async def test_fetches_caches_and_refreshes_on_failed_token() -> None:
    requests: list[httpx.Request] = []
    issued = iter(["AT-1", "AT-2"])

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=token_body(next(issued), 60))

    provider = gateway(httpx.MockTransport(handler))
    first = await provider.get_token("ten-1")
    assert first.access_token == "AT-1"
    assert first.realm_id == "9130"
    assert first.expires_at.tzinfo is not None
    assert (await provider.get_token("ten-1")) is first  # cached
    refreshed = await provider.get_token("ten-1", failed_token="AT-1")
    assert refreshed.access_token == "AT-2"
    assert len(requests) == 2
    assert requests[0].url.path == "/internal/v1/tenants/ten-1/access-token"
    assert requests[0].headers["Authorization"] == "Bearer svc-secret"
    assert json.loads(requests[0].content) == {"failed_token_sha256": None}
    expected = hashlib.sha256(b"AT-1").hexdigest()
    assert json.loads(requests[1].content) == {"failed_token_sha256": expected}
    # A stale failed_token (someone already refreshed) reuses the cache.
    assert (await provider.get_token("ten-1", failed_token="AT-1")).access_token == "AT-2"
    assert len(requests) == 2


async def test_token_near_expiry_is_fetched_again() -> None:
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        return httpx.Response(200, json=token_body(f"AT-{count}", 4))

    provider = gateway(httpx.MockTransport(handler))
    await provider.get_token("t")
    await provider.get_token("t")
    assert count == 2  # within 5 minutes of expiry: never served from cache


@pytest.mark.parametrize(
    ("status", "body", "cls", "transient"),
    [
        (404, {}, errors.UnknownTenant, False),
        (409, {"code": "needs_reauthorization"}, errors.TenantNeedsReauthorization, False),
        (503, {}, errors.TokenUnavailable, True),
        (401, {}, errors.QBOError, False),
    ],
)
async def test_gateway_errors(
    status: int, body: dict[str, str], cls: type[errors.QBOError], transient: bool
) -> None:
    provider = gateway(httpx.MockTransport(lambda r: httpx.Response(status, json=body)))
    with pytest.raises(cls) as info:
        await provider.get_token("t")
    assert type(info.value) is cls
    assert info.value.transient is transient


async def test_gateway_unreachable_is_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down")

    with pytest.raises(errors.TokenUnavailable):
        await gateway(httpx.MockTransport(handler)).get_token("t")


async def test_static_provider_and_token_repr_hides_secret() -> None:
    tok = AccessToken("SECRET", "1", "http://x", datetime.now(UTC))
    assert "SECRET" not in repr(tok)
    provider = StaticTokenProvider({"a": tok})
    assert await provider.get_token("a") is tok
    with pytest.raises(errors.UnknownTenant):
        await provider.get_token("b")


async def test_concurrent_refreshes_share_one_gateway_call() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(200, json=token_body(f"AT-{calls}", 60))

    provider = gateway(httpx.MockTransport(handler))
    first = await provider.get_token("t")
    # Ten calls that all saw the same token rejected: one refresh, everyone gets its result.
    fresh = await asyncio.gather(
        *(provider.get_token("t", failed_token=first.access_token) for _ in range(10))
    )
    assert {tok.access_token for tok in fresh} == {"AT-2"}
    assert calls == 2
