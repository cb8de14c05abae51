"""A private RabbitMQ vhost for a system test or benchmark, administered with rabbitmqctl.

Every stack's queues have the same names (partner-sync, invoice-sync...): a stack sharing a vhost
with another would hand its events to the other's services.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit


class VhostUnavailable(Exception):
    """No rabbitmqctl here, or it may not administer the broker (a remote one, no rights)."""


@dataclass(frozen=True)
class Vhost:
    name: str
    broker_url: str  # the base URL with the vhost as its path


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(
        ["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout


@contextlib.contextmanager
def private_vhost(base_url: str, prefix: str) -> Iterator[Vhost]:
    """A fresh vhost `<prefix>-<random>` the base URL's user may use fully, deleted afterwards."""
    if shutil.which("rabbitmqctl") is None:
        raise VhostUnavailable("rabbitmqctl is not installed")
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    try:
        rabbitmqctl("add_vhost", name)
    except (subprocess.SubprocessError, OSError) as exc:
        raise VhostUnavailable(f"rabbitmqctl add_vhost failed: {exc}") from exc
    try:
        user = urlsplit(base_url).username or "guest"
        rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
        yield Vhost(name, base_url.rstrip("/") + "/" + quote(name, safe=""))
    finally:
        rabbitmqctl("delete_vhost", name)


def queued_messages(vhost: str) -> dict[str, int]:
    """Queues of the vhost that still hold messages (ready + unacknowledged)."""
    out = rabbitmqctl("list_queues", "-q", "-p", vhost, "name", "messages")
    counts = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and int(parts[1]):
            counts[parts[0]] = int(parts[1])
    return counts
