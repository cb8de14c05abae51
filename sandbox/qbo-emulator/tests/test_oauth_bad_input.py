"""Malformed requests to the OAuth and admin endpoints get OAuth/HTTP errors, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from qbo_emulator.app import create_app

TOKEN = "/oauth2/v1/tokens/bearer"
REVOKE = "/v2/oauth2/tokens/revoke"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        yield http


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "body"),
    [
        (
            "POST",
            TOKEN,
            {"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data"}},
            400,
            {"error": "invalid_request"},
        ),
        (
            "POST",
            TOKEN,
            {"content": b"grant_type=refresh_token", "headers": {"authorization": "Basic !!!"}},
            401,
            {"error": "invalid_client"},
        ),
        (
            "POST",
            TOKEN,
            {"content": b"\xff\xfe=\xff", "headers": {"content-type": FORM}},
            401,
            {"error": "invalid_client"},
        ),
        (
            "POST",
            TOKEN,
            {"json": {"grant_type": "refresh_token"}},
            401,
            {"error": "invalid_client"},
        ),
        (
            "POST",
            REVOKE,
            {"content": b"{bad", "headers": {"content-type": "application/json"}},
            401,
            {"error": "invalid_client"},
        ),
        ("GET", "/v1/openid_connect/userinfo", {"headers": {"authorization": "Bearer"}}, 401, None),
        ("GET", "/connect/oauth2?client_id=%FF&redirect_uri=%00", {}, 400, None),
        (
            "POST",
            "/connect/oauth2",
            {"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data"}},
            400,
            None,
        ),
        ("POST", "/_emulator/apps", {"json": {"redirect_uris": "not-a-list"}}, 422, None),
        ("POST", "/_emulator/oauth/token-faults", {"json": {"mode": "explode"}}, 422, None),
        ("PUT", "/_emulator/webhooks/config", {"json": {"retry_scale": -1}}, 422, None),
        (
            "POST",
            "/_emulator/grants",
            {"json": {"client_id": "nobody", "realm_id": "1"}},
            404,
            None,
        ),
    ],
)
async def test_bad_requests_get_client_errors(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    body: dict[str, str] | None,
) -> None:
    response = await client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    if body is not None:
        assert response.json() == body


async def test_unparseable_token_body_from_a_known_client_is_invalid_request(
    client: httpx.AsyncClient,
) -> None:
    app = (await client.post("/_emulator/apps", json={"client_secret": "s"})).json()
    auth = (app["client_id"], "s")
    cases: list[tuple[dict[str, str], dict[str, str]]] = [
        ({}, {"error": "unsupported_grant_type"}),
        ({"grant_type": "authorization_code"}, {"error": "invalid_request"}),
        ({"grant_type": "refresh_token"}, {"error": "invalid_request"}),
        ({"grant_type": "authorization_code", "code": "forged"}, {"error": "invalid_grant"}),
    ]
    for form, expected in cases:
        response = await client.post(TOKEN, data=form, auth=auth)
        assert response.status_code == 400
        assert response.json() == expected
    revoke = await client.post(REVOKE, json={"token": 42}, auth=auth)
    assert revoke.status_code == 400
    assert revoke.json() == {"error": "invalid_request"}
