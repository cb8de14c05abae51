"""Where services read a tenant's sync settings: the gateway's internal API, cached per tenant.

The cache is kept fresh by TenantSettingsChanged events (feed them to `apply_change`); a TTL bounds
how stale a copy can get if an event is missed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from qbsync_common.contract.tenant_settings import TenantSettings
from qbsync_common.messaging.errors import PermanentError, TransientError


class TenantSettingsSource(Protocol):
    async def get(self, tenant_id: str) -> TenantSettings:
        """The tenant's current settings (defaults until the tenant changed them)."""
        ...

    def apply_change(self, tenant_id: str, version: int, settings: dict[str, Any]) -> None:
        """Replace the cached copy with a TenantSettingsChanged event's, unless it is older."""
        ...


class StaticTenantSettings:
    """Fixed settings per tenant (default for any other tenant): tests and local runs."""

    def __init__(
        self,
        per_tenant: dict[str, TenantSettings] | None = None,
        default: TenantSettings | None = None,
    ) -> None:
        self._per_tenant = dict(per_tenant or {})
        self._versions: dict[str, int] = {}
        self._default = default or TenantSettings()

    def set(self, tenant_id: str, settings: TenantSettings) -> None:
        self._per_tenant[tenant_id] = settings

    async def get(self, tenant_id: str) -> TenantSettings:
        return self._per_tenant.get(tenant_id, self._default)

    def apply_change(self, tenant_id: str, version: int, settings: dict[str, Any]) -> None:
        if version < self._versions.get(tenant_id, -1):
            return
        self._versions[tenant_id] = version
        self._per_tenant[tenant_id] = TenantSettings.model_validate(settings)


class GatewayTenantSettings:
    """GET {gateway}/internal/v1/tenants/{id}/settings with the service's credential, cached."""

    def __init__(
        self,
        gateway_url: str,
        credential: str,
        *,
        http: httpx.AsyncClient | None = None,
        ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = gateway_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {credential}"}
        self._http = http or httpx.AsyncClient(timeout=10.0)
        self._ttl = ttl_s
        self._clock = clock
        # tenant -> (version, settings, fetched at)
        self._cache: dict[str, tuple[int, TenantSettings, float]] = {}

    async def get(self, tenant_id: str) -> TenantSettings:
        cached = self._cache.get(tenant_id)
        if cached is not None and self._clock() - cached[2] < self._ttl:
            return cached[1]
        version, settings = await self._fetch(tenant_id)
        # An event applied while we were fetching may be newer than what the gateway returned.
        current = self._cache.get(tenant_id)
        if current is not None and current[0] > version:
            return current[1]
        self._cache[tenant_id] = (version, settings, self._clock())
        return settings

    def apply_change(self, tenant_id: str, version: int, settings: dict[str, Any]) -> None:
        current = self._cache.get(tenant_id)
        if current is not None and current[0] > version:
            return
        self._cache[tenant_id] = (
            version,
            TenantSettings.model_validate(settings),
            self._clock(),
        )

    async def _fetch(self, tenant_id: str) -> tuple[int, TenantSettings]:
        url = f"{self._base}/internal/v1/tenants/{tenant_id}/settings"
        try:
            response = await self._http.get(url, headers=self._headers)
        except httpx.HTTPError as exc:
            raise TransientError(f"tenant settings unavailable: {exc}") from exc
        if response.status_code == 404:
            raise PermanentError("unknown-tenant", f"the gateway does not know tenant {tenant_id}")
        if response.status_code in (401, 403):
            # A wrong credential is a deployment mistake: retrying hides it, parking shows it.
            raise PermanentError("gateway-credential-refused", "QBSYNC_SERVICE_CREDENTIAL refused")
        if response.status_code != 200:
            raise TransientError(f"tenant settings: gateway answered {response.status_code}")
        body = response.json()
        return int(body["version"]), TenantSettings.model_validate(body["settings"])

    async def aclose(self) -> None:
        await self._http.aclose()
