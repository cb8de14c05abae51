"""What the HTTP tests of the emulator share: the `api` fixture's type and reading its answers."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

Api = Callable[..., httpx.Response]


def ok(response: httpx.Response) -> dict[str, Any]:
    """A 200's body, its money as exact Decimals."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json(parse_float=Decimal)
    return body


def fault_code(response: httpx.Response) -> str:
    """A 400's QBO error code."""
    assert response.status_code == 400, response.text
    return str(response.json()["Fault"]["Error"][0]["code"])


def first_id(api: Api, entity: str, where: str) -> str:
    rows = ok(api("GET", "query", params={"query": f"select * from {entity} where {where}"}))
    return str(rows["QueryResponse"][entity][0]["Id"])
