"""422 answers that name what was wrong without repeating what was sent.

FastAPI's default validation answer echoes each offending value (`input`). Callers do send
secrets to the wrong place — a service putting the raw access token where its SHA-256 belongs,
a token pasted as a tenant id — and an error body must not hand them back (S4: no credential in
error pages, which proxies and clients log).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

_KEPT = ("type", "loc", "msg")


def scrubbed(errors: Any) -> list[dict[str, Any]]:
    """Each validation error reduced to its type, location and message (no input, no context)."""
    return [{key: error[key] for key in _KEPT if key in error} for error in errors]


async def _validation_failed(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        {"detail": scrubbed(exc.errors())},
        status_code=422,
        headers={"Cache-Control": "no-store"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_failed)
