"""Drives the emulator's Intuit admin API for custody tests: apps, grants, call counts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from oauth_gateway.custody.intuit import IntuitOAuth
from oauth_gateway.custody.model import TokenGrant

REDIRECT_URI = "http://127.0.0.1:8080/oauth/callback"


@dataclass(frozen=True)
class EmulatedApp:
    """One Intuit app registered at the emulator (its own call counters and rotation rules)."""

    base_url: str
    client_id: str
    client_secret: str

    def intuit(self, *, timeout: float = 10.0) -> IntuitOAuth:
        return IntuitOAuth(
            f"{self.base_url}/.well-known/openid_configuration",
            self.client_id,
            self.client_secret,
            REDIRECT_URI,
            timeout=timeout,
        )

    async def company(self) -> str:
        realm_id = str(secrets.randbelow(10**15))
        await self._admin("POST", "/companies", {"realm_id": realm_id, "company_name": "Co"})
        return realm_id

    async def grant(self, realm_id: str) -> TokenGrant:
        """A connected grant, as if a tenant admin had just clicked Connect."""
        body = await self._admin(
            "POST", "/grants", {"client_id": self.client_id, "realm_id": realm_id}
        )
        return TokenGrant.from_json(body)

    async def grants(self, realm_id: str, count: int) -> list[TokenGrant]:
        """Many grants for one realm over one keep-alive connection (setup of the 200-tenant test)."""
        body = {"client_id": self.client_id, "realm_id": realm_id}
        async with httpx.AsyncClient(base_url=f"{self.base_url}/_emulator") as client:
            answers = [await client.post("/grants", json=body) for _ in range(count)]
        return [TokenGrant.from_json(a.raise_for_status().json()) for a in answers]

    async def hang_next_token_call(self, seconds: float) -> None:
        """The next token call is answered only after `seconds` (Intuit slow; we time out)."""
        fault = {"mode": "hang", "seconds": seconds, "count": 1, "client_id": self.client_id}
        await self._admin("POST", "/oauth/token-faults", fault)

    async def refresh_calls(self) -> int:
        calls = await self._admin("GET", f"/apps/{self.client_id}/token-calls")
        return int(calls.get("refresh_token", 0))

    async def current_refresh_tokens(self) -> set[str]:
        grants = await self._admin("GET", f"/grants?client_id={self.client_id}")
        return {g["refresh_token"] for g in grants if not g["revoked"]}

    async def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with httpx.AsyncClient(base_url=f"{self.base_url}/_emulator") as client:
            resp = await client.request(method, path, json=body)
            resp.raise_for_status()
            return resp.json()


async def register_app(
    base_url: str, *, grace_hours: float, rotate_after_hours: float
) -> EmulatedApp:
    app = EmulatedApp(base_url, f"AB{secrets.token_hex(12)}", secrets.token_hex(20))
    await app._admin(
        "POST",
        "/apps",
        {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "redirect_uris": [REDIRECT_URI],
            "rotation_grace_hours": grace_hours,
            "rotation_after_hours": rotate_after_hours,
        },
    )
    return app
