"""The FastAPI application. It reads the store; it never computes statistics.

``/healthz`` answers 200 while the process serves requests (a liveness probe).
``/readyz`` answers 200 only when the store answers a query and the scheduler (when this process
runs one) is running, else 503 with the reason (R32), so a load balancer or an orchestrator can
hold traffic until the daemon can do its job.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import __version__
from ..store import Store


def store_answers(store: Store) -> bool:
    """Whether the store answers a trivial query right now (pool pre-ping included)."""
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def create_app(store: Store, *, scheduler_running: Callable[[], bool] | None = None) -> FastAPI:
    """The app over ``store``. ``scheduler_running`` None means this process runs no scheduler
    (``driftwatch serve``), so readiness depends on the store alone."""
    app = FastAPI(title="driftwatch", version=__version__)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        problems = []
        if not store_answers(store):
            problems.append("store: not reachable")
        if scheduler_running is not None and not scheduler_running():
            problems.append("scheduler: not running")
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ok"})

    return app
