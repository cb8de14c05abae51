"""Operator API keys: Bearer or X-API-Key accepted, anything else refused with 401."""

from __future__ import annotations

import httpx
from fastapi import Depends, FastAPI

from qbsync_common.operator_auth import OperatorKeys, parse_keys, require_operator


def test_parse_keys_accepts_comma_separated_and_json() -> None:
    assert parse_keys(" a-key , ,b-key") == ["a-key", "b-key"]
    assert parse_keys('["a-key", "b-key"]') == ["a-key", "b-key"]
    assert parse_keys("") == []


async def test_only_configured_keys_pass() -> None:
    app = FastAPI()
    guard = require_operator(OperatorKeys(["op-key-1", "op-key-2"]))

    @app.get("/x", dependencies=[Depends(guard)])
    async def guarded() -> dict[str, bool]:
        return {"ok": True}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (
            await client.get("/x", headers={"Authorization": "Bearer op-key-2"})
        ).status_code == 200
        assert (await client.get("/x", headers={"X-API-Key": "op-key-1"})).status_code == 200
        assert (await client.get("/x", headers={"X-API-Key": "op-key-3"})).status_code == 401
        assert (await client.get("/x")).status_code == 401
    assert not OperatorKeys([]).accepts("")
