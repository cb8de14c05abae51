"""A RabbitMQ node and a PostgreSQL cluster of a test's own, in a temporary directory, on free ports.

The restart scenarios of RELIABILITY §8 (F3, F6) kill and restart the server itself; the shared
servers on 5672/5432 serve everyone else's tests and must never go down, so these tests bring their
own. A private RabbitMQ node boots with the broker configuration qbsync ships
(deploy/rabbitmq/qbsync.conf), which the broker-configuration test and the poison benchmark rely
on. Both classes only ever signal processes they started, by pid, and `close()` removes everything
(processes and files) whatever state the test left them in.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user through `su`, which drops the
# environment a private node is configured by; the scripts it wraps take it as given.
RABBITMQ_SCRIPTS = Path("/usr/lib/rabbitmq/bin")
# The repository's broker configuration: this package only runs from a checkout.
SHIPPED_CONFIG = Path(__file__).parents[4] / "deploy" / "rabbitmq" / "qbsync.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_for_port(port: int, within: float, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if accepts(port):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} during startup")
        time.sleep(0.1)
    raise RuntimeError(f"{what} not accepting on port {port} after {within}s")


def rabbitmq_script(name: str) -> Path | None:
    """Path of a RabbitMQ script (rabbitmq-server, rabbitmqctl), None when not installed."""
    if (RABBITMQ_SCRIPTS / name).is_file():
        return RABBITMQ_SCRIPTS / name
    found = shutil.which(name)
    return Path(found) if found else None


class PrivateRabbit:
    """One RabbitMQ node with its own name, ports, cookie, database and logs; no plugins."""

    def __init__(self) -> None:
        server, ctl = rabbitmq_script("rabbitmq-server"), rabbitmq_script("rabbitmqctl")
        if server is None or ctl is None:
            raise FileNotFoundError("rabbitmq-server/rabbitmqctl are not installed")
        self._server, self._ctl = server, ctl
        self.home = Path(tempfile.mkdtemp(prefix="qbsync-rabbit-"))
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"qbsync-{self.port}@localhost"
        config = self.home / "rabbitmq.conf"
        # The machine's /etc/rabbitmq/rabbitmq.conf pins the listener to 5672: ours replaces it,
        # and adds what qbsync ships for production brokers.
        config.write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n" + SHIPPED_CONFIG.read_text()
        )
        (self.home / "enabled_plugins").write_text("[].\n")
        (self.home / "rabbitmq-env.conf").write_text("")
        self.env = {
            **os.environ,
            # Its own HOME gives it (and our rabbitmqctl) its own Erlang cookie.
            "HOME": str(self.home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(config),
            "RABBITMQ_CONF_ENV_FILE": str(self.home / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(self.home / "plugins-expand"),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_PID_FILE": str(self.home / "beam.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self, within: float = 60.0) -> None:
        """Boot the node (again, on the same data after a crash); returns once AMQP is served."""
        self._starts += 1
        pid_file = self.home / "beam.pid"
        pid_file.unlink(missing_ok=True)
        with open(self.home / f"server-{self._starts}.log", "wb") as out:
            self.process = subprocess.Popen(
                [str(self._server)],
                env=self.env,
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: `close` can end all of it
            )
        _wait_for_port(self.port, within, f"RabbitMQ node {self.node}", self.process)

    def beam_pid(self) -> int:
        return int((self.home / "beam.pid").read_text().strip())

    def kill(self) -> None:
        """`kill -9` of the Erlang VM: no connection close, no queue shutdown, nothing flushed."""
        assert self.process is not None
        os.kill(self.beam_pid(), signal.SIGKILL)
        self.process.wait(30)

    def ctl(self, *args: str, timeout: float = 60.0) -> str:
        done = subprocess.run(
            [str(self._ctl), "-n", self.node, "-q", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            # A VM that outlived its start script (it should not) is still ours.
            os.kill(self.beam_pid(), signal.SIGKILL)
        shutil.rmtree(self.home, ignore_errors=True)


def postgres_bindir() -> Path | None:
    """Directory of initdb/pg_ctl (the newest installed major version), None when not installed."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PrivatePostgres:
    """One PostgreSQL cluster (trust auth, user postgres) in a temporary directory."""

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None or not (bindir / "pg_ctl").is_file():
            raise FileNotFoundError("initdb/pg_ctl are not installed")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="qbsync-postgres-"))
        self.data = self.root / "data"
        self.port = free_port()
        # initdb and postgres refuse to run as root: as root, run them as the postgres OS user.
        self._as: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as, str(self.bindir / tool), *args], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        """Start (or restart after a crash: recovery replays the WAL); returns once it accepts."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            # An immediate stop kills processes, not the machine: what was written survives in
            # the page cache, so skipping fsync weakens nothing here and spares the shared disk.
            # synchronous_commit stays on: a commit is in the WAL before the client hears of it.
            " -c fsync=off"
        )
        log = str(self.root / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "60", "-o", options, "start"
        )

    def crash(self) -> None:
        """`pg_ctl stop -m immediate`: every backend dies at once, no checkpoint, recovery on start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def close(self) -> None:
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.crash()
        if pid_file.exists():
            # pg_ctl could not stop it: the postmaster (first line of its pid file) is ours.
            with contextlib.suppress(ValueError, ProcessLookupError, IndexError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)
