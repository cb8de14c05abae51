"""Ops app: liveness ignores dependencies, readiness names failing checks, server lifecycle."""

from __future__ import annotations

import asyncio
import signal
import socket

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from qbsync_common import health
from qbsync_common.health import ReadinessCheck, ServerStartError, create_ops_app, serve
from qbsync_common.metrics import ServiceMetrics
from qbsync_common.settings import ServiceSettings

SETTINGS = ServiceSettings(service_name="health-test", http_port=0)


async def ok() -> bool:
    return True


async def down() -> bool:
    return False


async def broken() -> bool:
    raise ConnectionRefusedError("database unreachable")


async def hung() -> bool:
    await asyncio.sleep(30)
    return True


def app_with(checks: dict[str, ReadinessCheck]) -> FastAPI:
    return create_ops_app(SETTINGS, ServiceMetrics("health-test"), checks, title="health-test")


async def get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        return await client.get(path)


async def test_ready_when_every_check_passes() -> None:
    response = await get(app_with({"database": ok, "broker": ok}), "/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": True, "broker": True}}


async def test_not_ready_names_failing_raising_and_hung_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.2)
    app = app_with({"database": broken, "broker": down, "consumers": hung, "cache": ok})
    started = asyncio.get_running_loop().time()
    response = await get(app, "/readyz")
    elapsed = asyncio.get_running_loop().time() - started
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker", "consumers", "database"]
    assert body["checks"] == {"database": False, "broker": False, "consumers": False, "cache": True}
    assert elapsed < 1.0  # checks run concurrently, each bounded by the timeout


async def test_liveness_ignores_dependencies() -> None:
    response = await get(app_with({"database": broken, "broker": down}), "/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def test_metrics_endpoint_serves_the_service_registry() -> None:
    metrics = ServiceMetrics("health-test")
    metrics.retries.labels("health-test", "partner", "partner.created").inc()
    app = create_ops_app(SETTINGS, metrics, {}, title="health-test")
    response = await get(app, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert (
        'qbsync_event_retries_total{queue="partner",service="health-test",type="partner.created"}'
        " 1.0" in response.text
    )


async def test_served_over_http_with_service_routes_and_stopped_cleanly() -> None:
    app = app_with({"database": ok})
    router = APIRouter()

    @router.get("/operator/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    app.include_router(router)
    sigterm_before = signal.getsignal(signal.SIGTERM)
    server = await serve(app, SETTINGS)
    try:
        # The service runner owns SIGTERM: serving must not replace its handler.
        assert signal.getsignal(signal.SIGTERM) is sigterm_before
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            assert (await client.get("/livez")).json() == {"status": "alive"}
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/operator/ping")).json() == {"pong": "yes"}
    finally:
        await server.stop()
    assert server.task.done()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{server.port}/livez")


async def test_a_taken_port_is_an_error_not_an_exit() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = ServiceSettings(service_name="health-test", http_port=port)
        with pytest.raises(ServerStartError):
            await serve(app_with({}), settings)
