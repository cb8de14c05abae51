"""The local stack: which processes make up qbsync on a developer machine, and how to start them."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

DEFAULT_DATABASE = "qbsync"
EMULATOR_PORT = 8090


@dataclass(frozen=True)
class Proc:
    name: str
    argv: list[str]
    port: int
    ready_path: str = "/readyz"
    env: dict[str, str] = field(default_factory=dict)


SERVICES: list[tuple[str, int]] = [
    ("oauth-gateway", 8080),
    ("partner-sync", 8081),
    ("invoice-sync", 8082),
    ("payment-poller", 8083),
]


def database_url(database: str = DEFAULT_DATABASE) -> str:
    return os.environ.get(
        "QBSYNC_DATABASE_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    )


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


def emulator_proc(port: int = EMULATOR_PORT) -> Proc:
    return Proc(
        "qbo-emulator",
        [sys.executable, "-m", "qbo_emulator.cli", "--host", "127.0.0.1", "--port", str(port)],
        port,
        ready_path="/_emulator/health",
    )
