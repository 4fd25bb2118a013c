"""The FastAPI application. It reads the store; it never computes statistics.

``/healthz`` answers 200 while the process serves requests (a liveness probe).
``/readyz`` answers 200 only when the store answers a query and the scheduler (when this process
runs one) is running, else 503 with the reason (R32), so a load balancer or an orchestrator can
hold traffic until the daemon can do its job.

Beside them: the JSON API under ``/api/v1`` (``api``), ``/metrics`` (``metrics``), the pages
(``pages``) behind a login when ``web.auth_token`` is set (``auth``), and ``/static``. The API
docs at ``/docs`` load Swagger UI from files the ``fastapi-offline`` package ships, not from a
CDN, so they open on a network without internet as the pages do. There is no ``/redoc``: ReDoc
fetches its logo from the internet whatever the page says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import __version__
from ..store import Store
from . import api, pages
from .auth import Auth, LoginRequired, login_redirect
from .limits import MAX_BODY_BYTES, BodyLimit, validation_error
from .metrics import StoreCollector

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["STATIC", "create_app", "store_answers", "utcnow"]

#: The stylesheet and scripts of the pages, served at ``/static`` when the folder exists.
STATIC = Path(__file__).with_name("static")


def utcnow() -> datetime:
    """Now, timezone-aware UTC: the default clock of the app."""
    return datetime.now(timezone.utc)


def store_answers(store: Store) -> bool:
    """Whether the store answers a trivial query right now (pool pre-ping included)."""
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def create_app(store: Store, *, settings: Settings | None = None, scheduler_running: Callable[[], bool] | None = None,
               outcomes: Callable[[], Mapping[tuple[str, str], int]] | None = None,
               registry: CollectorRegistry | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The app over ``store``.

    ``settings`` None means no config is known: no auth, and the monitors are those in the store.
    ``scheduler_running`` None means this process runs no scheduler (``driftwatch serve``), so
    readiness depends on the store alone. ``outcomes`` gives the dispatcher's delivery tally per
    (channel, outcome) for ``driftwatch_notifications_total``. ``registry`` is where ``/metrics``
    registers its collector (a fresh one per app by default, never the process-global one).
    ``clock`` says what "now" is (silence states, the pages, login sessions' expiry).
    """
    app = FastAPIOffline(title="driftwatch", version=__version__, redoc_url=None,
                         description="Drift reports, alerts and silences of the driftwatch daemon.")
    auth = Auth(settings.web if settings is not None else None, store, clock=clock)
    app.add_exception_handler(LoginRequired, login_redirect)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(BodyLimit)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        problems = []
        if not store_answers(store):
            problems.append("store: not reachable")
        if scheduler_running is not None and not scheduler_running():
            problems.append("scheduler: not running")
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ok"})

    app.state.api = api.ApiContext(store, settings, clock)
    app.state.auth = auth
    app.include_router(api.router, prefix="/api/v1",
                       tags=["api"], dependencies=[Depends(auth.api)],
                       responses={401: {"description": "web.auth_token is set and the bearer token is missing "
                                                       "or wrong"},
                                  429: {"description": "too many wrong tokens from this address lately: wait "
                                                       "Retry-After seconds"},
                                  413: {"description": f"the request body is over {MAX_BODY_BYTES} bytes"}})

    metrics_registry = registry if registry is not None else CollectorRegistry()
    metrics_registry.register(StoreCollector(store, settings, outcomes=outcomes))

    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(auth.metrics)])
    def metrics() -> Response:
        return Response(generate_latest(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router())
    app.state.pages = pages.PagesContext(store, settings, clock)
    app.include_router(pages.router, dependencies=[Depends(auth.page)])
    return app
