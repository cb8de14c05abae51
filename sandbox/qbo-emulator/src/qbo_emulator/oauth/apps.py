"""Registry of Intuit developer apps: keys, redirect URIs, webhook settings, auto-approval."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

WebhookFormat = Literal["legacy", "cloudevents"]


@dataclass
class App:
    """One app as configured on Intuit's developer portal (Keys tab + Webhooks page)."""

    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)
    name: str = "Emulated app"
    webhook_url: str | None = None
    webhook_verifier_token: str | None = None
    webhook_format: WebhookFormat = "legacy"
    # QBO.md §1.4: sources disagree on how long a rotated-out refresh token keeps working, so the
    # emulator defaults to the strict reading (0 h) and a test can switch to the lenient one (24 h).
    rotation_grace_hours: float = 0.0
    # A refresh returns the same refresh_token value for "roughly the first 24-26 h" of that value.
    rotation_after_hours: float = 24.0
    # The realm that GET /connect/oauth2 approves without showing the consent page (tests, demos).
    auto_approve_realm: str | None = None

    def webhooks_enabled(self) -> bool:
        return bool(self.webhook_url and self.webhook_verifier_token)

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.client_secret.encode(), secret.encode())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class AppRegistry:
    """Apps by client_id; registering a known client_id replaces it, so re-running a demo works."""

    def __init__(self) -> None:
        self._apps: dict[str, App] = {}

    def register(self, app: App) -> bool:
        """Stores the app; returns True when it replaced an existing registration."""
        replaced = app.client_id in self._apps
        self._apps[app.client_id] = app
        return replaced

    def get(self, client_id: str) -> App | None:
        return self._apps.get(client_id)

    def all(self) -> list[App]:
        return list(self._apps.values())

    def delete(self, client_id: str) -> bool:
        return self._apps.pop(client_id, None) is not None

    def authenticate(self, client_id: str, client_secret: str) -> App | None:
        app = self._apps.get(client_id)
        if app is None or not app.secret_matches(client_secret):
            return None
        return app

    def clear(self) -> None:
        self._apps.clear()


def new_client_id() -> str:
    # Intuit client ids are ~50 alphanumerics starting with "AB"; tests only need them unique.
    return "AB" + secrets.token_hex(24)


def new_client_secret() -> str:
    return secrets.token_hex(20)
