"""IntuitOAuth request shapes and error mapping, over httpx's in-memory transport."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from oauth_gateway.custody.intuit import (
    IntuitError,
    IntuitOAuth,
    IntuitUnavailable,
    InvalidClient,
    InvalidGrant,
)

BASE = "https://intuit.test"
DISCOVERY = {
    "authorization_endpoint": f"{BASE}/connect/oauth2",
    "token_endpoint": f"{BASE}/oauth2/v1/tokens/bearer",
    "revocation_endpoint": f"{BASE}/v2/oauth2/tokens/revoke",
}
GRANT = {
    "token_type": "bearer",
    "access_token": "AT-secret",
    "refresh_token": "RT-secret",
    "expires_in": 3600,
    "x_refresh_token_expires_in": 8726400,
    "x_refresh_token_hard_expires_in": 157680000,
}


def client(token_answer: httpx.Response | Exception, seen: list[httpx.Request]) -> IntuitOAuth:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.startswith("/.well-known"):
            return httpx.Response(200, json=DISCOVERY)
        if isinstance(token_answer, Exception):
            raise token_answer
        return token_answer

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return IntuitOAuth(
        f"{BASE}/.well-known/openid_configuration",
        "client-id",
        "client-secret",
        "https://gw.test/oauth/callback",
        http=http,
    )


async def test_refresh_posts_the_grant_with_basic_auth_and_parses_the_answer() -> None:
    seen: list[httpx.Request] = []
    intuit = client(httpx.Response(200, json=GRANT), seen)
    grant = await intuit.refresh("RT-old")
    assert grant.access_token == "AT-secret"
    assert grant.x_refresh_token_hard_expires_in == 157680000
    token_call = seen[-1]
    assert str(token_call.url) == DISCOVERY["token_endpoint"]
    assert parse_qs(token_call.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["RT-old"],
    }
    expected = base64.b64encode(b"client-id:client-secret").decode()
    assert token_call.headers["authorization"] == f"Basic {expected}"
    assert token_call.headers["x-include-refresh-token-hard-expires-in"] == "true"
    await intuit.refresh("RT-old")
    # The discovery document is fetched once, not per call.
    assert sum(r.url.path.startswith("/.well-known") for r in seen) == 1


async def test_code_exchange_and_authorize_url_use_the_registered_redirect_uri() -> None:
    seen: list[httpx.Request] = []
    intuit = client(httpx.Response(200, json=GRANT), seen)
    url = urlparse(await intuit.authorize_url("state-123"))
    assert f"{url.scheme}://{url.netloc}{url.path}" == DISCOVERY["authorization_endpoint"]
    assert parse_qs(url.query) == {
        "client_id": ["client-id"],
        "response_type": ["code"],
        "scope": ["com.intuit.quickbooks.accounting"],
        "redirect_uri": ["https://gw.test/oauth/callback"],
        "state": ["state-123"],
    }
    await intuit.exchange_code("the-code")
    assert parse_qs(seen[-1].content.decode())["redirect_uri"] == ["https://gw.test/oauth/callback"]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(400, json={"error": "invalid_grant"}), InvalidGrant),
        (httpx.Response(401, json={"error": "invalid_client"}), InvalidClient),
        (httpx.Response(503, text="busy"), IntuitUnavailable),
        (httpx.Response(429, text="slow down"), IntuitUnavailable),
        (httpx.Response(400, json={"error": "invalid_request"}), IntuitError),
        (httpx.Response(200, text="<html>"), IntuitUnavailable),
        (httpx.ConnectTimeout("timed out"), IntuitUnavailable),
    ],
)
async def test_failures_map_to_errors_that_never_echo_tokens(
    answer: httpx.Response | Exception, error: type[IntuitError]
) -> None:
    intuit = client(answer, [])
    with pytest.raises(error) as info:
        await intuit.refresh("RT-do-not-leak")
    assert type(info.value) is error
    assert "RT-do-not-leak" not in str(info.value)


async def test_revoke_sends_the_token_as_json() -> None:
    seen: list[httpx.Request] = []
    intuit = client(httpx.Response(200), seen)
    await intuit.revoke("RT-1")
    assert str(seen[-1].url) == DISCOVERY["revocation_endpoint"]
    assert json.loads(seen[-1].content) == {"token": "RT-1"}
