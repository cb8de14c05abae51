"""Intuit OAuth endpoints from the discovery document: authorize URL, code, refresh, revoke."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from oauth_gateway.custody.model import TokenGrant

log = logging.getLogger(__name__)

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


class IntuitError(Exception):
    """Intuit's token endpoint did not grant; messages carry the error code, never a token."""


class InvalidGrant(IntuitError):
    """The code or refresh token is stale, revoked or expired (terminal unless newer exists)."""


class InvalidClient(IntuitError):
    """Our client id/secret were refused: configuration, not the tenant's fault."""


class IntuitUnavailable(IntuitError):
    """Timeout, connection failure or 5xx/429: worth retrying later."""


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    revocation: str


class IntuitOAuth:
    """An OAuth client of Intuit for one app (client id/secret)."""

    def __init__(
        self,
        discovery_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        scope: str = ACCOUNTING_SCOPE,
    ) -> None:
        self._discovery_url = discovery_url
        self._client_id = client_id
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._redirect_uri = redirect_uri
        self._scope = scope
        # Short timeouts: a refresh runs while the tenant's row lock is held.
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None
        self._endpoints: Endpoints | None = None
        self._discovering = asyncio.Lock()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            async with self._discovering:
                if self._endpoints is None:
                    self._endpoints = await self._discover()
        return self._endpoints

    async def _discover(self) -> Endpoints:
        try:
            resp = await self._http.get(self._discovery_url, headers={"Accept": "application/json"})
            resp.raise_for_status()
            doc = resp.json()
            return Endpoints(
                authorization=str(doc["authorization_endpoint"]),
                token=str(doc["token_endpoint"]),
                revocation=str(doc["revocation_endpoint"]),
            )
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise IntuitUnavailable(f"discovery failed: {type(exc).__name__}") from None

    async def authorize_url(self, state: str) -> str:
        query = urlencode(
            {
                "client_id": self._client_id,
                "response_type": "code",
                "scope": self._scope,
                "redirect_uri": self._redirect_uri,
                "state": state,
            }
        )
        return f"{(await self.endpoints()).authorization}?{query}"

    async def exchange_code(self, code: str) -> TokenGrant:
        """The authorization_code grant: call it exactly once per code (Intuit's rule)."""
        return await self._token(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self._redirect_uri}
        )

    async def refresh(self, refresh_token: str) -> TokenGrant:
        return await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def revoke(self, token: str) -> None:
        url = (await self.endpoints()).revocation
        try:
            resp = await self._http.post(
                url, json={"token": token}, auth=self._auth, headers={"Accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise IntuitUnavailable(f"revoke failed: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise _error_for(resp, "revoke")

    async def _token(self, form: dict[str, str]) -> TokenGrant:
        url = (await self.endpoints()).token
        try:
            resp = await self._http.post(
                url,
                data=form,
                auth=self._auth,
                headers={
                    "Accept": "application/json",
                    # Ask for the 5-year hard expiry so we can warn upstream before it.
                    "x-include-refresh-token-hard-expires-in": "true",
                },
            )
        except httpx.HTTPError as exc:
            raise IntuitUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise _error_for(resp, form["grant_type"])
        try:
            return TokenGrant.from_json(resp.json())
        except (ValueError, KeyError, TypeError):
            raise IntuitUnavailable("token endpoint answered an unreadable body") from None


def _error_for(resp: httpx.Response, what: str) -> IntuitError:
    code = _error_code(resp)
    tid = resp.headers.get("intuit_tid", "")
    message = f"{what}: HTTP {resp.status_code} {code or ''} intuit_tid={tid}".strip()
    if resp.status_code >= 500 or resp.status_code == 429:
        return IntuitUnavailable(message)
    if code == "invalid_grant":
        return InvalidGrant(message)
    if code == "invalid_client" or resp.status_code == 401:
        return InvalidClient(message)
    return IntuitError(message)


def _error_code(resp: httpx.Response) -> str | None:
    try:
        data: Any = resp.json()
    except ValueError:
        return None
    return str(data["error"]) if isinstance(data, dict) and "error" in data else None
