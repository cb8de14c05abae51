"""The ops HTTP app of every service (/livez, /readyz, /metrics) and its in-process server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from qbsync_common.metrics import ServiceMetrics
from qbsync_common.settings import ServiceSettings

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]

CHECK_TIMEOUT_S = 2.0
STARTUP_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def create_ops_app(
    settings: ServiceSettings,
    metrics: ServiceMetrics,
    checks: Mapping[str, ReadinessCheck],
    *,
    title: str,
) -> FastAPI:
    """A FastAPI app with the probes and metrics; services add their own routers to it."""
    app = FastAPI(title=title)
    readiness = _Readiness(dict(checks))

    @app.get("/livez")
    async def livez() -> dict[str, str]:
        # Answering at all proves the event loop runs; dependencies are deliberately not checked,
        # so a broker outage does not make Kubernetes restart every pod (RELIABILITY §5.4).
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        results = await readiness.run()
        failing = sorted(name for name, ok in results.items() if not ok)
        if failing:
            body = {"status": "not ready", "checks": results, "failing": failing}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ready", "checks": results})

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        body, content_type = metrics.render()
        return Response(content=body, media_type=content_type)

    app.state.settings = settings
    app.state.metrics = metrics
    return app


class _Readiness:
    """Runs the checks concurrently and logs only when a check changes state, not on every probe."""

    def __init__(self, checks: dict[str, ReadinessCheck]) -> None:
        self.checks = checks
        self.last: dict[str, bool] = {}

    async def run(self) -> dict[str, bool]:
        names = list(self.checks)
        outcomes = await asyncio.gather(*(self._one(name) for name in names))
        results = dict(zip(names, outcomes, strict=True))
        for name, ok in results.items():
            if self.last.get(name, True) != ok:
                if ok:
                    log.info("readiness check %s recovered", name)
                else:
                    log.warning("readiness check %s failing", name)
        self.last = results
        return results

    async def _one(self, name: str) -> bool:
        try:
            return bool(await asyncio.wait_for(self.checks[name](), CHECK_TIMEOUT_S))
        except TimeoutError:
            log.debug("readiness check %s timed out after %ss", name, CHECK_TIMEOUT_S)
            return False
        except Exception as exc:
            log.debug("readiness check %s raised %r", name, exc)
            return False


class ServerStartError(RuntimeError):
    """The HTTP server could not start (typically: the port is taken)."""


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handling: the service runner owns SIGTERM/SIGINT."""

    def install_signal_handlers(self) -> None:
        """Older uvicorn versions call this; we install nothing."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Newer uvicorn replaces the process's SIGTERM handler here, which would steal the
        # runner's graceful shutdown; we leave signal handlers alone.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        except SystemExit as exc:
            # uvicorn exits the process when it cannot bind; inside a service that must be an
            # ordinary error the caller can report.
            raise ServerStartError(
                f"could not serve on {self.config.host}:{self.config.port}"
            ) from exc


class ServerHandle:
    """A running ops server; `stop()` shuts it down gracefully."""

    def __init__(self, server: _EmbeddedServer, task: asyncio.Task[None]) -> None:
        self.server = server
        self.task = task
        # The bound port, read while listening (it matters when the settings asked for port 0).
        self.port = server.config.port
        if server.started and server.servers and server.servers[0].sockets:
            self.port = int(server.servers[0].sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), STOP_TIMEOUT_S)
        except TimeoutError:
            self.server.force_exit = True
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def serve(app: FastAPI, settings: ServiceSettings) -> ServerHandle:
    """Start uvicorn on http_host:http_port as a task; return once it accepts connections."""
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # our JSON logging stays in charge (configure_logging)
        access_log=False,  # probes every few seconds would drown the log; traces cover requests
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(), name=f"http:{settings.service_name}")
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
    while not server.started:
        if task.done():
            task.result()  # raises ServerStartError (or whatever stopped it)
            raise ServerStartError("HTTP server exited during startup")
        if asyncio.get_running_loop().time() > deadline:
            await ServerHandle(server, task).stop()
            raise ServerStartError(f"HTTP server not started after {STARTUP_TIMEOUT_S}s")
        await asyncio.sleep(0.01)
    return ServerHandle(server, task)
