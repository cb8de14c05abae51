"""The stack's environment matches what each service's settings read (names change; this tells)."""

from __future__ import annotations

import re

import pytest

from invoice_sync.config import Settings as InvoiceSettings
from oauth_gateway.config import Settings as GatewaySettings
from oauth_gateway.custody.credentials import ServiceCredentials
from partner_sync.config import Settings as PartnerSettings
from payment_poller.config import Settings as PollerSettings
from qbsync_dev.demo import cli as demo_cli
from qbsync_dev.demo.environment import DemoEnvironment
from qbsync_dev.stack import GATEWAY, StackSpec

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


def test_run_ports_move_with_env_and_qbsync_demo_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("QBSYNC_DEMO_GATEWAY_URL", "QBSYNC_DEMO_EMULATOR_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("QBSYNC_DEV_OAUTH_GATEWAY_PORT", "9080")
    monkeypatch.setenv("QBSYNC_DEV_QBO_EMULATOR_PORT", "9090")
    spec = StackSpec.default()
    assert spec.gateway_url == "http://127.0.0.1:9080"
    assert _env_of(spec, GATEWAY)["QBSYNC_INTUIT_REDIRECT_URI"] == (
        "http://127.0.0.1:9080/oauth/callback"
    )
    assert spec.ports["partner-sync"] == 8081  # the others keep their defaults
    demo = DemoEnvironment.from_env()
    assert (demo.gateway_url, demo.emulator_url) == (spec.gateway_url, spec.emulator_url)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("http", "QBSYNC_DEV_PARTNER_SYNC_PORT must be a TCP port (1-65535), not 'http'"),
        ("70000", "QBSYNC_DEV_PARTNER_SYNC_PORT must be a TCP port (1-65535), not '70000'"),
        ("8080", "two processes cannot listen on one port: oauth-gateway=8080, partner-sync=8080"),
    ],
)
def test_a_bad_run_port_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str, says: str
) -> None:
    monkeypatch.delenv("QBSYNC_DEV_OAUTH_GATEWAY_PORT", raising=False)
    monkeypatch.setenv("QBSYNC_DEV_PARTNER_SYNC_PORT", value)
    with pytest.raises(ValueError, match=f"^{re.escape(says)}$"):
        StackSpec.default()


def test_qbsync_demo_refuses_a_bad_port_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QBSYNC_DEV_OAUTH_GATEWAY_PORT", "0")
    assert demo_cli.main(["story"]) == 2
    assert "QBSYNC_DEV_OAUTH_GATEWAY_PORT must be a TCP port" in capsys.readouterr().err
