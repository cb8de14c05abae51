"""Where the client gets access tokens: a provider protocol, a fixed one and the gateway's."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx

from qbo_client.errors import QBOError, TenantNeedsReauthorization, TokenUnavailable, UnknownTenant


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    realm_id: str
    api_base_url: str
    expires_at: datetime

    def __repr__(self) -> str:
        # Never let the secret reach logs through a repr.
        return (
            f"AccessToken(realm_id={self.realm_id!r}, api_base_url={self.api_base_url!r}, "
            f"expires_at={self.expires_at.isoformat()!r})"
        )


class TokenProvider(Protocol):
    async def get_token(self, tenant_id: str, *, failed_token: str | None = None) -> AccessToken:
        """A valid token for the tenant; ``failed_token`` is one QBO just rejected with 401."""
        ...


def token_fingerprint(token: str) -> str:
    """SHA-256 hex of a token, safe to send or log in place of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


class StaticTokenProvider:
    """Fixed tokens per tenant, for tests and local runs.

    ``refreshed`` lets a test hand out a different token after a 401.
    """

    def __init__(
        self,
        tokens: dict[str, AccessToken],
        *,
        refreshed: dict[str, AccessToken] | None = None,
    ) -> None:
        self._tokens = dict(tokens)
        self._refreshed = dict(refreshed or {})
        self.refresh_calls: list[tuple[str, str]] = []

    @classmethod
    def single(
        cls, tenant_id: str, *, access_token: str, realm_id: str, api_base_url: str
    ) -> StaticTokenProvider:
        expires = datetime.now(UTC) + timedelta(days=3650)
        return cls({tenant_id: AccessToken(access_token, realm_id, api_base_url, expires)})

    async def get_token(self, tenant_id: str, *, failed_token: str | None = None) -> AccessToken:
        if tenant_id not in self._tokens:
            raise UnknownTenant(f"unknown tenant {tenant_id}")
        current = self._tokens[tenant_id]
        if failed_token is not None and failed_token == current.access_token:
            self.refresh_calls.append((tenant_id, token_fingerprint(failed_token)))
            if tenant_id in self._refreshed:
                current = self._refreshed.pop(tenant_id)
                self._tokens[tenant_id] = current
        return current


class GatewayTokenProvider:
    """Asks oauth-gateway's internal API for tenant tokens and caches them.

    Tokens are cached until 5 minutes before expiry; a 401 from QBO comes back here as
    ``failed_token`` so the gateway can refresh (it holds the refresh token and the lock).
    """

    REFRESH_MARGIN = timedelta(minutes=5)

    def __init__(
        self,
        gateway_url: str,
        service_credential: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._url = gateway_url.rstrip("/")
        self._credential = service_credential
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None
        self._cache: dict[str, AccessToken] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def get_token(self, tenant_id: str, *, failed_token: str | None = None) -> AccessToken:
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        # One request per tenant at a time: concurrent callers after a 401 share one refresh.
        async with lock:
            cached = self._cache.get(tenant_id)
            # A cached token is reused unless it is the one QBO just rejected.
            usable = cached is not None and self._fresh(cached)
            if usable and cached is not None and failed_token != cached.access_token:
                return cached
            token = await self._fetch(tenant_id, failed_token)
            self._cache[tenant_id] = token
            return token

    def _fresh(self, token: AccessToken) -> bool:
        return token.expires_at - self.REFRESH_MARGIN > datetime.now(UTC)

    async def _fetch(self, tenant_id: str, failed_token: str | None) -> AccessToken:
        url = f"{self._url}/internal/v1/tenants/{tenant_id}/access-token"
        body = {"failed_token_sha256": token_fingerprint(failed_token) if failed_token else None}
        try:
            resp = await self._http.post(
                url, json=body, headers={"Authorization": f"Bearer {self._credential}"}
            )
        except httpx.HTTPError as exc:
            raise TokenUnavailable(f"token gateway unreachable: {type(exc).__name__}") from exc
        if resp.status_code == 404:
            raise UnknownTenant(f"unknown tenant {tenant_id}", status=404)
        if resp.status_code == 409:
            code = _json_code(resp)
            if code == "needs_reauthorization":
                raise TenantNeedsReauthorization(
                    f"tenant {tenant_id} needs re-authorization", status=409, code=code
                )
            raise TokenUnavailable(f"token gateway conflict {code}", status=409, code=code)
        if 400 <= resp.status_code < 500 and resp.status_code != 429:
            # A rejected service credential or bad request is configuration, not weather.
            raise QBOError(f"token gateway refused: {resp.status_code}", status=resp.status_code)
        if resp.status_code != 200:
            raise TokenUnavailable(
                f"token gateway answered {resp.status_code}", status=resp.status_code
            )
        data = resp.json()
        expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00"))
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return AccessToken(
            access_token=str(data["access_token"]),
            realm_id=str(data["realm_id"]),
            api_base_url=str(data["api_base_url"]),
            expires_at=expires,
        )


def _json_code(resp: httpx.Response) -> str | None:
    try:
        data = resp.json()
    except ValueError:
        return None
    return str(data.get("code")) if isinstance(data, dict) and data.get("code") else None
