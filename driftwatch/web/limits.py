"""Request bodies bounded before they are read, and validation errors that echo nothing back.

Why: the web app answers requests from anyone who can reach it, before authentication
(``POST /login``). A handler that reads a body first and checks its size after lets one request
make the daemon hold any amount of memory (a 500 MB login body took it from 270 MB to 1.2 GB).
So every body is counted as it arrives, for every route: a declared ``Content-Length`` over
``MAX_BODY_BYTES`` is refused at once, and a chunked body is cut off the moment it passes the
limit; both get ``413``. The largest legitimate body (a silence) is well under a kilobyte.

FastAPI's default ``422`` repeats each invalid input (``"input"``), so a 60 KB wrong body came
back tripled; ``validation_error`` keeps where and why, never what was sent.
"""

from __future__ import annotations

from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_BYTES", "BodyLimit", "validation_error"]

#: The largest request body any route accepts.
MAX_BODY_BYTES = 64 * 1024
_TOO_LARGE = f"request body over {MAX_BODY_BYTES} bytes"


class BodyLimit:
    """ASGI middleware: ``413`` for a body over ``limit`` bytes, read no further than that."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            response = JSONResponse({"detail": _TOO_LARGE if declared.isdigit() else "bad Content-Length"},
                                    status_code=413 if declared.isdigit() else 400, headers={"connection": "close"})
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # a chunked body that grew past the limit: stop reading here
                    raise HTTPException(status_code=413, detail=_TOO_LARGE, headers={"connection": "close"})
            return message

        await self.app(scope, counted, send)


#: A ``loc`` part longer than this is cut: an unknown body key is the sender's text, not a field name.
_MAX_LOC_PART = 64


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """``422`` with each error's location, message and type, but not the input that failed
    (nor more than ``_MAX_LOC_PART`` characters of a key the sender made up)."""
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = [{key: error[key] for key in ("type", "loc", "msg") if key in error}
                                    for error in exc.errors()]
    for error in errors:
        if "loc" in error:
            error["loc"] = [part[:_MAX_LOC_PART] + "…" if isinstance(part, str) and len(part) > _MAX_LOC_PART
                            else part for part in error["loc"]]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)
