"""The stack's environment matches what each service's settings read (names change; this tells)."""

from __future__ import annotations

import pytest
from qbsync_dev.demo.environment import DemoEnvironment
from qbsync_dev.stack import GATEWAY, StackSpec

from invoice_sync.config import Settings as InvoiceSettings
from oauth_gateway.config import Settings as GatewaySettings
from oauth_gateway.custody.credentials import ServiceCredentials
from partner_sync.config import Settings as PartnerSettings
from payment_poller.config import Settings as PollerSettings

SYNC_SETTINGS = {
    "partner-sync": PartnerSettings,
    "invoice-sync": InvoiceSettings,
    "payment-poller": PollerSettings,
}


def _env_of(spec: StackSpec, name: str) -> dict[str, str]:
    (proc,) = [p for p in spec.procs() if p.name == name]
    return proc.env


def test_every_sync_service_can_authenticate_to_the_gateway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = StackSpec.random_ports("postgresql+asyncpg://postgres@127.0.0.1:5432/x")
    for key, value in _env_of(spec, GATEWAY).items():
        monkeypatch.setenv(key, value)
    gateway = GatewaySettings()
    credentials = ServiceCredentials.from_json(gateway.service_credentials.get_secret_value())
    assert gateway.intuit_redirect_uri == f"{spec.gateway_url}/oauth/callback"
    assert gateway.public_base_url == spec.gateway_url
    assert gateway.intuit_discovery_url.startswith(spec.emulator_url)
    assert gateway.operator_keys() == [DemoEnvironment.of(spec).operator_key]
    for name, settings_class in SYNC_SETTINGS.items():
        with monkeypatch.context() as scoped:
            for key, value in _env_of(spec, name).items():
                scoped.setenv(key, value)
            settings = settings_class()
        assert settings.gateway_url == spec.gateway_url
        assert settings.http_port == spec.ports[name]
        assert credentials.identify(settings.service_credential.get_secret_value()) == name


def test_default_stack_uses_the_gateways_development_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in ("QBSYNC_BROKER_URL", "QBSYNC_LOG_LEVEL", "QBSYNC_INTUIT_CLIENT_ID"):
        monkeypatch.delenv(key, raising=False)
    spec = StackSpec.default()
    defaults = GatewaySettings()  # nothing set: the embedded development values
    env = _env_of(spec, GATEWAY)
    assert env["QBSYNC_INTUIT_CLIENT_ID"] == defaults.intuit_client_id
    assert env["QBSYNC_INTUIT_CLIENT_SECRET"] == defaults.intuit_client_secret.get_secret_value()
    assert env["QBSYNC_INTUIT_REDIRECT_URI"] == defaults.intuit_redirect_uri
    assert env["QBSYNC_PUBLIC_BASE_URL"] == defaults.public_base_url


def test_printed_broker_url_hides_the_password() -> None:
    env = DemoEnvironment("http://e", "http://g", "amqp://app:s3cret@rabbit:5672/prod")
    assert env.broker_display == "amqp://app:***@rabbit:5672/prod"
    assert "s3cret" not in env.broker_display
