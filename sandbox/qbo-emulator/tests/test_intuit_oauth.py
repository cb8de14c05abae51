"""Unmodified intuit-oauth and raw HTTP against a real emulator: Intuit OAuth fidelity."""

from __future__ import annotations

import base64
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks.client import QuickBooks
from quickbooks.exceptions import AuthorizationException
from quickbooks.objects.customer import Customer

from qbo_emulator.app import create_app

REDIRECT = "http://localhost:5001/callback"
ACCOUNTING = "com.intuit.quickbooks.accounting"


@dataclass(frozen=True)
class Emulator:
    url: str

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(method, f"{self.url}/_emulator{path}", **kwargs)
        assert response.status_code < 400, response.text
        return response

    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid_configuration"

    def advance(self, seconds: float) -> None:
        self.admin("POST", "/clock/advance", json={"seconds": seconds})

    def company(self) -> str:
        realm_id = str(uuid.uuid4().int % 10**12)
        body = {"realm_id": realm_id, "company_name": f"Test Co {realm_id}", "seeded": False}
        self.admin("POST", "/companies", json=body)
        return realm_id

    def register(self, **fields: Any) -> dict[str, Any]:
        body = {"redirect_uris": [REDIRECT], **fields}
        app: dict[str, Any] = self.admin("POST", "/apps", json=body).json()
        return app

    def api_status(self, access_token: str, realm_id: str) -> tuple[int, str]:
        response = httpx.get(
            f"{self.url}/v3/company/{realm_id}/companyinfo/{realm_id}",
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        return response.status_code, response.text


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """A private emulator: these tests move its clock, which must not disturb other modules."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "emulator crashed on start"
        assert time.monotonic() < deadline, "emulator did not start"
        time.sleep(0.02)
    yield Emulator(f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)


def _connect(emulator: Emulator, grace_hours: float = 0) -> tuple[AuthClient, str, dict[str, Any]]:
    """Registers an auto-approving app and runs authorize -> code exchange with intuit-oauth."""
    realm_id = emulator.company()
    app = emulator.register(auto_approve_realm=realm_id, rotation_grace_hours=grace_hours)
    client = AuthClient(app["client_id"], app["client_secret"], REDIRECT, emulator.discovery_url())
    url = client.get_authorization_url([Scopes.ACCOUNTING], state_token="st-123")
    redirect = httpx.get(url, follow_redirects=False)
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect.headers["location"]).query)
    assert query["state"] == ["st-123"]
    assert query["realmId"] == [realm_id]
    client.get_bearer_token(query["code"][0], realm_id=query["realmId"][0])
    return client, realm_id, app


def test_discovery_points_at_the_serving_host_on_any_prefix(emulator: Emulator) -> None:
    for path in (
        "/.well-known/openid_configuration",
        "/.well-known/openid_sandbox_configuration/",
        "/some/proxy/prefix/.well-known/openid-configuration",
    ):
        doc = httpx.get(emulator.url + path).json()
        for key in ("authorization_endpoint", "token_endpoint", "revocation_endpoint"):
            assert doc[key].startswith(emulator.url + "/"), (path, key)
        assert doc["issuer"] == emulator.url + "/op/v1"
        assert doc["jwks_uri"].startswith(emulator.url)
        assert doc["userinfo_endpoint"].startswith(emulator.url)
    via_localhost = emulator.url.replace("127.0.0.1", "localhost")
    doc = httpx.get(via_localhost + "/.well-known/openid_configuration").json()
    assert doc["token_endpoint"].startswith(via_localhost)


def test_intuit_oauth_authorize_exchange_refresh_revoke(emulator: Emulator) -> None:
    client, realm_id, app = _connect(emulator)
    assert client.expires_in == 3600
    assert client.x_refresh_token_expires_in == 8_640_000
    assert client.access_token.startswith("eyJ")
    assert emulator.api_status(client.access_token, realm_id)[0] == 200

    first_access, first_refresh = client.access_token, client.refresh_token
    client.refresh()
    assert client.refresh_token == first_refresh  # same value within the first 24 h (§1.4)
    assert client.access_token != first_access
    assert emulator.api_status(client.access_token, realm_id)[0] == 200
    # Intuit's access tokens are self-contained: refreshing does not kill the older one.
    assert emulator.api_status(first_access, realm_id)[0] == 200

    assert client.revoke() is True
    status, body = emulator.api_status(client.access_token, realm_id)
    assert status == 401
    assert "3200" in body
    with pytest.raises(AuthClientError) as refused:
        client.refresh()
    assert refused.value.status_code == 400
    assert refused.value.intuit_tid
    assert refused.value.content == (
        b'{"error_description": "Incorrect or invalid refresh token", "error": "invalid_grant"}'
    )
    calls = emulator.admin("GET", f"/apps/{app['client_id']}/token-calls").json()
    assert calls["authorization_code"] == 1
    assert calls["refresh_token"] == 2
    assert calls["revoke"] == 1


def test_code_reuse_is_invalid_grant(emulator: Emulator) -> None:
    realm_id = emulator.company()
    app = emulator.register(auto_approve_realm=realm_id)
    client = AuthClient(app["client_id"], app["client_secret"], REDIRECT, emulator.discovery_url())
    location = httpx.get(client.get_authorization_url([Scopes.ACCOUNTING])).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    client.get_bearer_token(code)
    with pytest.raises(AuthClientError) as reused:
        client.get_bearer_token(code)
    assert reused.value.status_code == 400
    assert reused.value.content == b'{"error": "invalid_grant"}'


def test_wrong_secret_is_invalid_client_and_form_credentials_work(emulator: Emulator) -> None:
    client, realm_id, app = _connect(emulator)
    wrong = AuthClient(app["client_id"], "nope", REDIRECT, emulator.discovery_url())
    with pytest.raises(AuthClientError) as refused:
        wrong.refresh(client.refresh_token)
    assert refused.value.status_code == 401
    assert refused.value.content == b'{"error": "invalid_client"}'
    # client_secret_post, as requests-oauthlib's auto refresh sends it (tap-quickbooks).
    response = httpx.post(
        client.token_endpoint,
        data={
            "grant_type": "refresh_token",
            "refresh_token": client.refresh_token,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.headers["cache-control"] == "no-cache, no-store"
    assert response.json()["refresh_token"] == client.refresh_token
    assert emulator.api_status(response.json()["access_token"], realm_id)[0] == 200


@pytest.mark.parametrize("grace_hours", [0, 24])
def test_rotation_after_a_day_with_grace(emulator: Emulator, grace_hours: int) -> None:
    client, _, _ = _connect(emulator, grace_hours=grace_hours)
    old = client.refresh_token
    emulator.advance(25 * 3600)
    client.refresh()
    assert client.refresh_token != old
    assert client.x_refresh_token_expires_in == 8_640_000
    stale = AuthClient(client.client_id, client.client_secret, REDIRECT, emulator.discovery_url())
    if grace_hours == 0:
        with pytest.raises(AuthClientError) as refused:
            stale.refresh(old)
        assert refused.value.status_code == 400
    else:
        stale.refresh(old)
        assert stale.refresh_token == client.refresh_token


def test_expired_access_token_is_401_3200_until_refreshed(emulator: Emulator) -> None:
    client, realm_id, _ = _connect(emulator)
    emulator.advance(3601)
    status, body = emulator.api_status(client.access_token, realm_id)
    assert status == 401
    assert "3200" in body
    client.refresh()
    assert emulator.api_status(client.access_token, realm_id)[0] == 200
    other_realm = emulator.company()
    status, body = emulator.api_status(client.access_token, other_realm)
    assert status == 403
    assert "3100" in body


def test_hard_expiry_header_and_intuit_tid(emulator: Emulator) -> None:
    client, _, app = _connect(emulator)
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    form = {"grant_type": "refresh_token", "refresh_token": client.refresh_token}
    plain = httpx.post(
        client.token_endpoint, data=form, headers={"Authorization": f"Basic {basic}"}
    )
    assert "x_refresh_token_hard_expires_in" not in plain.json()
    assert plain.headers["intuit_tid"]
    hard = httpx.post(
        client.token_endpoint,
        data=form,
        headers={
            "Authorization": f"Basic {basic}",
            "x-include-refresh-token-hard-expires-in": "true",
        },
    )
    assert 157_679_000 < hard.json()["x_refresh_token_hard_expires_in"] <= 157_680_000


def test_revoke_accepts_a_form_body_and_userinfo_needs_a_live_token(emulator: Emulator) -> None:
    client, realm_id, app = _connect(emulator)
    profile = client.get_user_info().json()
    assert profile["emailVerified"] is True
    assert profile["sub"]
    response = httpx.post(
        client.revoke_endpoint,
        data={"token": client.refresh_token},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert response.status_code == 200
    assert emulator.api_status(client.access_token, realm_id)[0] == 401
    with pytest.raises(AuthClientError) as refused:
        client.get_user_info()
    assert refused.value.status_code == 401


def test_admin_disconnect_in_quickbooks_revokes_the_grant_and_a_reconnect_works(
    emulator: Emulator,
) -> None:
    client, realm_id, app = _connect(emulator)
    other_client, other_realm, other_app = _connect(emulator)
    answer = emulator.admin(
        "POST", f"/apps/{app['client_id']}/disconnect", json={"realm_id": realm_id}
    )
    assert answer.json() == {"revoked": 1}
    # The app is not told: its next API call is 401 and its refresh is invalid_grant.
    status, body = emulator.api_status(client.access_token, realm_id)
    assert status == 401 and "3200" in body
    with pytest.raises(AuthClientError) as refused:
        client.refresh()
    assert refused.value.status_code == 400
    assert b"invalid_grant" in refused.value.content
    grants = emulator.admin("GET", "/grants", params={"realm_id": realm_id}).json()
    assert [g["revoked"] for g in grants] == [True]
    # Another app's connection (to another company) is untouched.
    assert emulator.api_status(other_client.access_token, other_realm)[0] == 200
    other_client.refresh()
    # Going through the authorize flow again connects the company with a new grant.
    url = client.get_authorization_url([Scopes.ACCOUNTING], state_token="st-again")
    query = parse_qs(urlsplit(httpx.get(url).headers["location"]).query)
    client.get_bearer_token(query["code"][0], realm_id=realm_id)
    assert emulator.api_status(client.access_token, realm_id)[0] == 200
    again = emulator.admin(
        "POST", f"/apps/{other_app['client_id']}/disconnect", json={"realm_id": realm_id}
    )
    assert again.json() == {"revoked": 0}  # that app was never connected to this company
    unknown = httpx.post(
        f"{emulator.url}/_emulator/apps/nobody/disconnect", json={"realm_id": realm_id}
    )
    assert unknown.status_code == 404


def test_consent_page_connect_and_cancel(emulator: Emulator) -> None:
    realm_id = emulator.company()
    app = emulator.register(name="Invoice Bridge")
    client = AuthClient(app["client_id"], app["client_secret"], REDIRECT, emulator.discovery_url())
    page = httpx.get(client.get_authorization_url([Scopes.ACCOUNTING], state_token="s1"))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Invoice Bridge" in page.text
    assert f"value='{realm_id}'" in page.text
    assert "<form method='post'>" in page.text
    form = {
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
        "scope": ACCOUNTING,
        "state": "s1",
        "response_type": "code",
        "realm_id": realm_id,
    }
    # The browser posts the form back to the URL it was served from, query string included.
    connect = httpx.post(str(page.url), data={**form, "decision": "connect"})
    assert connect.status_code == 302
    query = parse_qs(urlsplit(connect.headers["location"]).query)
    assert query["realmId"] == [realm_id]
    assert query["state"] == ["s1"]
    client.get_bearer_token(query["code"][0])
    assert emulator.api_status(client.access_token, realm_id)[0] == 200

    cancel = httpx.post(str(page.url), data={**form, "decision": "cancel"})
    assert cancel.status_code == 302
    assert cancel.headers["location"] == f"{REDIRECT}?error=access_denied&state=s1"


def test_authorize_validation(emulator: Emulator) -> None:
    app = emulator.register()
    auth_url = f"{emulator.url}/connect/oauth2"
    base = {
        "client_id": app["client_id"],
        "response_type": "code",
        "scope": ACCOUNTING,
        "redirect_uri": REDIRECT,
        "state": "x",
    }
    unknown_client = httpx.get(auth_url, params={**base, "client_id": "who"})
    assert unknown_client.status_code == 400
    assert "location" not in unknown_client.headers
    open_redirect = httpx.get(auth_url, params={**base, "redirect_uri": "https://evil.example/"})
    assert open_redirect.status_code == 400
    assert "location" not in open_redirect.headers
    bad_scope = httpx.get(auth_url, params={**base, "scope": "com.intuit.quickbooks.everything"})
    assert bad_scope.headers["location"] == f"{REDIRECT}?error=invalid_scope&state=x"
    bad_type = httpx.get(auth_url, params={**base, "response_type": "token"})
    assert bad_type.headers["location"] == f"{REDIRECT}?error=unsupported_response_type&state=x"


def test_token_endpoint_faults_and_call_counts(emulator: Emulator) -> None:
    client, _, app = _connect(emulator)
    fault = {"mode": "status", "status": 503, "count": 2, "client_id": app["client_id"]}
    emulator.admin("POST", "/oauth/token-faults", json=fault)
    for _ in range(2):
        with pytest.raises(AuthClientError) as unavailable:
            client.refresh()
        assert unavailable.value.status_code == 503
    client.refresh()
    emulator.admin("POST", "/oauth/token-faults", json={"mode": "hang", "seconds": 1.0})
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        httpx.post(
            client.token_endpoint,
            data={"grant_type": "refresh_token", "refresh_token": client.refresh_token},
            auth=(app["client_id"], app["client_secret"]),
            timeout=0.3,
        )
    assert time.monotonic() - started < 1.0
    calls = emulator.admin("GET", f"/apps/{app['client_id']}/token-calls").json()
    assert calls["status_503"] == 2
    assert calls["refresh_token"] == 3  # the hung call is still running server-side
    assert emulator.admin("GET", "/oauth/token-faults").json() == []


def test_admin_minted_grant_and_app_deletion(emulator: Emulator) -> None:
    realm_id = emulator.company()
    app = emulator.register()
    body = {"client_id": app["client_id"], "realm_id": realm_id}
    minted = emulator.admin("POST", "/grants", json=body).json()
    assert minted["realmId"] == realm_id
    assert emulator.api_status(minted["access_token"], realm_id)[0] == 200
    grants = emulator.admin("GET", "/grants", params={"client_id": app["client_id"]}).json()
    assert [g["refresh_token"] for g in grants] == [minted["refresh_token"]]
    emulator.admin("DELETE", f"/apps/{app['client_id']}")
    assert emulator.api_status(minted["access_token"], realm_id)[0] == 401
    missing = httpx.get(f"{emulator.url}/_emulator/apps/{app['client_id']}")
    assert missing.status_code == 404
    assert httpx.get(f"{emulator.url}/_emulator/health").json() == {"status": "ok"}


def test_python_quickbooks_uses_tokens_from_intuit_oauth(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests-oauthlib refuses plain http unless told otherwise (QBO.md §1.9).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    client, realm_id, _ = _connect(emulator)
    qb = QuickBooks(
        auth_client=client, refresh_token=client.refresh_token, company_id=realm_id, minorversion=75
    )
    qb.api_url_v3 = f"{emulator.url}/v3"
    customer = Customer()
    customer.DisplayName = f"OAuth Chain {uuid.uuid4().hex[:8]}"
    customer.save(qb=qb)
    assert [c.Id for c in Customer.filter(DisplayName=customer.DisplayName, qb=qb)] == [customer.Id]
    client.revoke()
    with pytest.raises(AuthorizationException) as refused:
        Customer.get(customer.Id, qb=qb)
    assert refused.value.error_code == 401
