"""The internal APIs (/internal/v1) on a port of their own, served as a background job.

On their own port the token API can be fenced at L4: the Kubernetes NetworkPolicy admits only
qbsync service pods to it, while the public port stays open to the Ingress controller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from fastapi import APIRouter, FastAPI

from oauth_gateway import validation
from oauth_gateway.config import Settings
from qbsync_common.health import serve
from qbsync_common.telemetry import instrument_fastapi

log = logging.getLogger(__name__)


def internal_app(routers: Iterable[APIRouter]) -> FastAPI:
    app = FastAPI(title="qbsync oauth-gateway internal API")
    validation.install(app)
    for router in routers:
        app.include_router(router)
    instrument_fastapi(app)
    return app


class InternalServer:
    """A runtime job: serve `app` on `internal_http_port` until the service stops."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        if settings.internal_http_port is None:
            raise ValueError("InternalServer needs internal_http_port")
        self.app = app
        self.port = settings.internal_http_port
        self._settings = settings.model_copy(update={"http_port": self.port})

    async def __call__(self, stop: asyncio.Event) -> None:
        try:
            handle = await serve(self.app, self._settings)
        except Exception:
            # Without its token API the gateway is useless to every service: stop the whole
            # process (the orchestrator restarts it) rather than run half-alive.
            log.exception("internal API server did not start on port %d; stopping", self.port)
            stop.set()
            raise
        log.info("internal API listening on port %d", self.port)
        try:
            await stop.wait()
        finally:
            await handle.stop()
