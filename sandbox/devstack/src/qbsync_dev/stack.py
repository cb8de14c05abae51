"""The local stack: which processes make up qbsync on a developer machine, and how to start them."""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass, field

DEFAULT_DATABASE = "qbsync"
EMULATOR_PORT = 8090
EMULATOR = "qbo-emulator"
GATEWAY = "oauth-gateway"

# Development-only secrets, well known on purpose: the stack they protect runs on 127.0.0.1 against
# the emulator. The client id/secret are the gateway's embedded development defaults.
INTUIT_CLIENT_ID = "qbsync-dev"
INTUIT_CLIENT_SECRET = "qbsync-dev-secret"
OPERATOR_KEY = "qbsync-dev-operator-key"
WEBHOOK_VERIFIER_TOKEN = "qbsync-dev-webhook-verifier"


@dataclass(frozen=True)
class Proc:
    name: str
    argv: list[str]
    port: int
    ready_path: str = "/readyz"
    env: dict[str, str] = field(default_factory=dict)


SERVICES: list[tuple[str, int]] = [
    (GATEWAY, 8080),
    ("partner-sync", 8081),
    ("invoice-sync", 8082),
    ("payment-poller", 8083),
]
SYNC_SERVICES = [name for name, _ in SERVICES if name != GATEWAY]


def port_variable(name: str) -> str:
    """QBSYNC_DEV_OAUTH_GATEWAY_PORT, QBSYNC_DEV_QBO_EMULATOR_PORT..."""
    return f"QBSYNC_DEV_{name.upper().replace('-', '_')}_PORT"


def default_ports() -> dict[str, int]:
    """Every process's port: the fixed defaults, or QBSYNC_DEV_<NAME>_PORT (read by `make run` and
    by qbsync-demo, so both agree)."""
    ports = {}
    for name, default in [(EMULATOR, EMULATOR_PORT), *SERVICES]:
        variable = port_variable(name)
        raw = os.environ.get(variable, "").strip() or str(default)
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise ValueError(f"{variable} must be a TCP port (1-65535), not {raw!r}")
        ports[name] = int(raw)
    clashes = {p for p in ports.values() if list(ports.values()).count(p) > 1}
    if clashes:
        taken = ", ".join(f"{n}={p}" for n, p in ports.items() if p in clashes)
        raise ValueError(f"two processes cannot listen on one port: {taken}")
    return ports


def database_url(database: str = DEFAULT_DATABASE) -> str:
    return os.environ.get(
        "QBSYNC_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    )


def service_credential(service: str) -> str:
    """The development secret a sync service presents to the gateway's internal API."""
    return f"{service}-dev-credential"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class StackSpec:
    """Where every process of one stack listens and what they share (database, broker)."""

    database_url: str
    ports: dict[str, int]
    broker_url: str | None = None  # None: the services' default (guest@127.0.0.1:5672)
    log_level: str = "INFO"

    @classmethod
    def default(cls) -> StackSpec:
        """The ports `make run` uses (the gateway's development defaults point at them), each
        movable with QBSYNC_DEV_<NAME>_PORT when another program holds it."""
        ports = default_ports()
        # WARNING unless asked otherwise: INFO lines of five processes would bury the banner.
        level = os.environ.get("QBSYNC_LOG_LEVEL", "WARNING")
        return cls(database_url(), ports, os.environ.get("QBSYNC_BROKER_URL"), level)

    @classmethod
    def random_ports(
        cls, database: str, *, broker_url: str | None = None, log_level: str = "WARNING"
    ) -> StackSpec:
        """A private stack for tests: every process on a free port."""
        names = [EMULATOR, *(name for name, _ in SERVICES)]
        return cls(database, {n: free_port() for n in names}, broker_url, log_level)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def emulator_url(self) -> str:
        return self.url(EMULATOR)

    @property
    def gateway_url(self) -> str:
        return self.url(GATEWAY)

    def common_env(self) -> dict[str, str]:
        env = {
            "QBSYNC_DATABASE_URL": self.database_url,
            "QBSYNC_ENVIRONMENT": "development",
            "QBSYNC_LOG_LEVEL": self.log_level,
        }
        if self.broker_url:
            env["QBSYNC_BROKER_URL"] = self.broker_url
        return env

    def gateway_env(self) -> dict[str, str]:
        emulator, gateway = self.emulator_url, self.gateway_url
        credentials = {s: service_credential(s) for s in SYNC_SERVICES}
        return {
            "QBSYNC_INTUIT_DISCOVERY_URL": f"{emulator}/.well-known/openid_configuration",
            "QBSYNC_INTUIT_CLIENT_ID": INTUIT_CLIENT_ID,
            "QBSYNC_INTUIT_CLIENT_SECRET": INTUIT_CLIENT_SECRET,
            "QBSYNC_INTUIT_REDIRECT_URI": f"{gateway}/oauth/callback",
            "QBSYNC_QBO_API_BASE_URL": emulator,
            "QBSYNC_PUBLIC_BASE_URL": gateway,
            "QBSYNC_OPERATOR_API_KEYS": OPERATOR_KEY,
            "QBSYNC_SERVICE_CREDENTIALS": json.dumps(credentials),
            "QBSYNC_WEBHOOK_VERIFIER_TOKEN": WEBHOOK_VERIFIER_TOKEN,
        }

    def sync_service_env(self, service: str) -> dict[str, str]:
        return {
            "QBSYNC_GATEWAY_URL": self.gateway_url,
            "QBSYNC_SERVICE_CREDENTIAL": service_credential(service),
            "QBSYNC_OPERATOR_API_KEYS": OPERATOR_KEY,
        }

    def procs(self) -> list[Proc]:
        """The emulator first (the gateway reads its discovery document), then every service."""
        services = []
        for name, _ in SERVICES:
            own = self.gateway_env() if name == GATEWAY else self.sync_service_env(name)
            env = {**self.common_env(), **own, "QBSYNC_HTTP_PORT": str(self.ports[name])}
            argv = [sys.executable, "-m", name.replace("-", "_"), "run"]
            services.append(Proc(name, argv, self.ports[name], env=env))
        return [emulator_proc(self.ports[EMULATOR]), *services]


def service_procs(env: dict[str, str]) -> list[Proc]:
    return [
        Proc(
            name,
            [sys.executable, "-m", name.replace("-", "_"), "run"],
            port,
            env={**env, "QBSYNC_HTTP_PORT": str(port)},
        )
        for name, port in SERVICES
    ]


def emulator_proc(port: int = EMULATOR_PORT, log_level: str = "warning") -> Proc:
    return Proc(
        EMULATOR,
        [
            sys.executable,
            "-m",
            "qbo_emulator.cli",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            log_level,
        ],
        port,
        ready_path="/_emulator/health",
    )
