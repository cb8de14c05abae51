"""Where the running stack is: URLs, keys and the demo tenant, from QBSYNC_DEMO_* or `make run`'s."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from qbsync_dev.stack import (
    EMULATOR,
    GATEWAY,
    INTUIT_CLIENT_ID,
    INTUIT_CLIENT_SECRET,
    OPERATOR_KEY,
    WEBHOOK_VERIFIER_TOKEN,
    StackSpec,
)

DEMO_TENANT = "demo-tenant"
DEMO_REALM = "9130350000000001"
DEMO_COMPANY = "Demo Translations Inc."
DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass(frozen=True)
class DemoEnvironment:
    """Everything qbsync-demo talks to; defaults match `make run`."""

    emulator_url: str
    gateway_url: str
    broker_url: str = DEFAULT_BROKER_URL
    operator_key: str = OPERATOR_KEY
    client_id: str = INTUIT_CLIENT_ID
    client_secret: str = INTUIT_CLIENT_SECRET
    webhook_verifier_token: str = WEBHOOK_VERIFIER_TOKEN

    @classmethod
    def of(cls, spec: StackSpec) -> DemoEnvironment:
        return cls(spec.url(EMULATOR), spec.url(GATEWAY), spec.broker_url or DEFAULT_BROKER_URL)

    @classmethod
    def from_env(cls) -> DemoEnvironment:
        spec = StackSpec.default()
        return cls(
            os.environ.get("QBSYNC_DEMO_EMULATOR_URL", spec.url(EMULATOR)),
            os.environ.get("QBSYNC_DEMO_GATEWAY_URL", spec.url(GATEWAY)),
            os.environ.get("QBSYNC_DEMO_BROKER_URL")
            or os.environ.get("QBSYNC_BROKER_URL", DEFAULT_BROKER_URL),
            os.environ.get("QBSYNC_DEMO_OPERATOR_KEY", OPERATOR_KEY),
        )

    @property
    def broker_display(self) -> str:
        """The broker URL without its password, for printing."""
        parts = urlsplit(self.broker_url)
        if parts.password is None:
            return self.broker_url
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))

    def operator_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.operator_key}"}
