"""``/api/v1``: the store as JSON, for scripts, dashboards and the people who write them.

Read-only except silences. Every response has a pydantic model, so ``/openapi.json`` documents
it and ``/docs`` can try it. Lists are paged with keyset cursors (see ``store.queries``) and every
page size has a ceiling, so no request can ask the database for everything at once. Times are
ISO 8601; a time without a zone is read as UTC. Nothing from the settings is serialised but
monitor names: secrets (tokens, passwords, webhook URLs) never reach a response.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BeforeValidator

from ..alerts.events import WEBHOOK_EVENT_SCHEMA
from ..model import AlertKey
from ..store import alerts as store_alerts
from ..store import outbox as store_outbox
from ..store import queries
from ..store.runs import RunRecord
from ..timeutil import parse_duration
from .api_models import (
    AlertOut,
    LateOut,
    Moment,
    MonitorOut,
    OutboxOut,
    Problem,
    ResultOut,
    ResultsPage,
    RunDetail,
    RunOut,
    RunsPage,
    SilenceIn,
    SilenceOut,
    clean_text,
)
from .auth import Bearer

if TYPE_CHECKING:
    from ..config import Settings
    from ..store import Store
    from ..store.results import StoredResult

__all__ = ["MAX_RESULTS", "MAX_RUNS", "ApiContext", "may_change", "router"]

#: Page size ceilings: runs are capped (a bigger ask gets this many), results refused beyond it.
MAX_RUNS = 500
MAX_RESULTS = 10_000
#: ``results.id`` is 64-bit; ``runs.id`` and ``silences.id`` are 32-bit on PostgreSQL. A bigger
#: number cannot name a row, and PostgreSQL would refuse to even compare it.
MAX_ID = 2**63 - 1
MAX_SMALL_ID = 2**31 - 1
#: What the results' ``segment`` filter takes.
SEGMENT_DOC = '"" for whole-window figures only; column=value (e.g. country=BR) for one segment; absent: every row'



def whole_number(value: object) -> object:
    """Digits only: pydantic would otherwise read ``"9\x0b"`` or ``" 9"`` as 9 and answer for a
    URL that names no run (the negative fuzz test sends such ids).

    >>> whole_number("12"), whole_number(12)
    ('12', 12)
    >>> whole_number("12\x0b")
    Traceback (most recent call last):
    ...
    ValueError: must be a whole number written with digits only
    """
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a whole number written with digits only")
    return value


Id = Annotated[int, BeforeValidator(whole_number), Path(ge=1, le=MAX_SMALL_ID)]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "No such object"}}


def _invalid(loc: tuple[str, ...], message: str, value: object) -> RequestValidationError:
    """A 422 shaped like FastAPI's own, so the documented error schema holds for it too."""
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message, "input": value}])


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _run(run: RunRecord) -> RunOut:
    return RunOut(id=run.id, monitor=run.monitor, window_start=run.window_start, window_end=run.window_end,
                  attempt=run.attempt, status=run.status, owner=run.owner, started_at=run.started_at,
                  finished_at=run.finished_at, rows_reference=run.rows_reference, rows_current=run.rows_current,
                  error=run.error)


def _result(row: StoredResult) -> ResultOut:
    return ResultOut.model_validate({**vars(row), "details": dict(row.details), "value": _finite(row.value),
                                     "p_value": _finite(row.p_value), "threshold": _finite(row.threshold)})


def encode_cursor(window_end: datetime, row_id: int) -> str:
    """The opaque ``cursor`` that continues after the row ``(window_end, id)``.

    >>> encode_cursor(datetime(2026, 11, 1, tzinfo=timezone.utc), 7)
    'MjAyNi0xMS0wMVQwMDowMDowMCswMDowMHw3'
    >>> decode_cursor(encode_cursor(datetime(2026, 11, 1, tzinfo=timezone.utc), 7))
    (datetime.datetime(2026, 11, 1, 0, 0, tzinfo=datetime.timezone.utc), 7)
    """
    return base64.urlsafe_b64encode(f"{window_end.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The ``(window_end, id)`` inside ``cursor``; ``ValueError`` for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, row_id = text.partition("|")
        end = datetime.fromisoformat(moment)
        number = int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor this API returned") from None
    if end.tzinfo is None or not 1 <= number <= MAX_ID:
        raise ValueError("not a cursor this API returned")
    return end.astimezone(timezone.utc), number


def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not take: ``/alerts?monitr=churn`` must not quietly
    answer with every monitor's alerts."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:  # pragma: no cover - every API route has one
        return
    allowed = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        allowed |= {param.alias for param in sub.query_params}
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise _invalid(("query", unknown[0]), f"unknown parameter (this call takes: {', '.join(sorted(allowed))})",
                       request.query_params[unknown[0]])


@dataclass(frozen=True)
class ApiContext:
    """What the endpoints read, kept on the app (``app.state.api``) rather than in closures, so
    the routes are module-level functions one app or many can include."""

    store: Store
    settings: Settings | None
    clock: Callable[[], datetime]

    def configured(self) -> list[str]:
        return [m.name for m in self.settings.monitors] if self.settings is not None else []

    def known(self, name: str) -> bool:
        return name in self.configured() or queries.has_runs(self.store.engine, name)


def _context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.api
    return context


#: An endpoint's view of its app.
ApiState = Annotated[ApiContext, Depends(_context)]


def may_change(request: Request, credentials: Bearer) -> None:
    """The calls that write need the bearer token (the app's ``Auth.change``)."""
    request.app.state.auth.change(request, credentials)


router = APIRouter(dependencies=[Depends(known_query_only)])


@router.get("/monitors", response_model=list[MonitorOut], summary="Every monitor, with its latest run")
def monitors(api: ApiState) -> list[MonitorOut]:
    """Configured monitors and any other monitor with runs in the store, by name."""
    names = set(api.configured())
    stored = queries.monitors_in_store(api.store.engine)
    latest = queries.last_runs(api.store.engine)
    firing = queries.firing_counts(api.store.engine)
    return [MonitorOut(name=name, configured=name in names,
                       last_run=_run(latest[name]) if name in latest else None,
                       firing_alerts=firing.get(name, 0))
            for name in sorted(names | set(stored))]


@router.get("/monitors/{name}/runs", response_model=RunsPage, responses=_NOT_FOUND,
            summary="Runs of one monitor, newest window first")
def monitor_runs(api: ApiState, name: Annotated[str, Path(min_length=1, max_length=255), AfterValidator(clean_text)],
                 limit: Annotated[int, Query(ge=1, description=f"at most {MAX_RUNS} are returned")] = 50,
                 before_id: Annotated[int | None, BeforeValidator(whole_number),
                                      Query(ge=1, le=MAX_SMALL_ID, description="next_before_id of the previous page")]
                 = None) -> RunsPage:
    """Pages by ``before_id``: pass the previous page's ``next_before_id`` to go on."""
    if not api.known(name):
        raise HTTPException(status_code=404, detail=f"no monitor {name!r}")
    before = None
    if before_id is not None:
        anchor = api.store.run(before_id)
        if anchor is None or anchor.monitor != name:
            raise _invalid(("query", "before_id"), f"no run {before_id} of monitor {name!r}", before_id)
        before = (anchor.window_end, anchor.id)
    size = min(limit, MAX_RUNS)
    rows = queries.runs_page(api.store.engine, name, limit=size + 1, before=before)
    more = len(rows) > size
    rows = rows[:size]
    return RunsPage(runs=[_run(r) for r in rows], next_before_id=rows[-1].id if more else None)


@router.get("/runs/{run_id}", response_model=RunDetail, responses=_NOT_FOUND, summary="One run and its results")
def run_detail(api: ApiState, run_id: Id) -> RunDetail:
    run = api.store.run(run_id)
    if run is None:
        raise HTTPException(status_code=404, detail=f"no run {run_id}")
    results = [_result(r) for r in queries.run_results(api.store.engine, run_id)]
    late = store_alerts.late_run(api.store.engine, run_id)
    return RunDetail(**_run(run).model_dump(), results=results, late=None if late is None else LateOut(
        judged_window_end=late.window_end, judged_run_id=late.run_id))


@router.get("/results", response_model=ResultsPage, summary="The results time series of one monitor")
def results(api: ApiState, monitor: Annotated[str, Query(min_length=1, max_length=255), AfterValidator(clean_text)],
            metric: Annotated[str | None, Query(max_length=255), AfterValidator(clean_text)] = None,
            feature: Annotated[str | None, Query(max_length=255, description='"" for data-set level figures'),
                               AfterValidator(clean_text)] = None,
            segment: Annotated[str | None, Query(max_length=255, description=SEGMENT_DOC),
                               AfterValidator(clean_text)] = None,
            since: Annotated[Moment | None, Query(description="window_end >= since (ISO 8601; no zone = UTC)")]
            = None,
            until: Annotated[Moment | None, Query(description="window_end <= until (ISO 8601; no zone = UTC)")]
            = None,
            limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 1000,
            cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]
            = None) -> ResultsPage:
    """Oldest window first; ``next_cursor`` is set while more rows match."""
    after = None
    if cursor is not None:
        try:
            after = decode_cursor(cursor)
        except ValueError as exc:
            raise _invalid(("query", "cursor"), str(exc), cursor) from None
    rows = queries.results_page(api.store.engine, monitor=monitor, metric=metric, feature=feature, since=since,
                                until=until, limit=limit + 1, after=after, segment=segment)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None  # a stored result always has its window end
    return ResultsPage(results=[_result(r) for r in rows],
                       next_cursor=encode_cursor(last.window_end, last.id)
                       if more and last is not None and last.window_end is not None else None)


@router.get("/alerts", response_model=list[AlertOut], summary="Alerts in one state (firing by default)")
def alerts(api: ApiState, state: Literal["ok", "pending", "firing", "resolved"] = "firing",
           monitor: Annotated[str | None, Query(max_length=255), AfterValidator(clean_text)] = None
           ) -> list[AlertOut]:
    now = api.clock()
    active = [s for s in store_alerts.list_silences(api.store.engine, monitor=monitor, now=now, include_expired=False)
              if s.state(now) == "active"]
    out = []
    for row in queries.alerts(api.store.engine, state=state, monitor=monitor):
        key = AlertKey(row.monitor, row.detector, row.feature, row.metric, row.segment)
        out.append(AlertOut(
            fingerprint=row.fingerprint, monitor=row.monitor, detector=row.detector, feature=row.feature,
            metric=row.metric, segment=row.segment, state=row.state, severity=row.severity,
            value=_finite(row.value), threshold=_finite(row.threshold), p_value=_finite(row.p_value),
            active_since=row.active_since, resolved_at=row.resolved_at, last_run_id=row.last_run_id,
            last_window_end=row.last_window_end, updated_at=row.updated_at,
            silenced=any(s.matches(key) for s in active)))
    return out


@router.get("/silences", response_model=list[SilenceOut], summary="Silences, newest first")
def silences(api: ApiState, monitor: Annotated[str | None, Query(max_length=255), AfterValidator(clean_text)] = None,
             state: Literal["pending", "active", "expired"] | None = None) -> list[SilenceOut]:
    now = api.clock()
    found = store_alerts.list_silences(api.store.engine, monitor=monitor, now=now,
                                       include_expired=state in (None, "expired"))
    return [SilenceOut.of(s, now) for s in found if state is None or s.state(now) == state]


@router.post("/silences", response_model=SilenceOut, status_code=201, dependencies=[Depends(may_change)],
             responses={400: {"model": Problem, "description": "The body is not JSON"},
                        403: {"model": Problem, "description": "Changes need web.auth_token"}},
             summary="Silence alerts that match")
def add_silence(api: ApiState, body: SilenceIn) -> SilenceOut:
    """``ends_at`` or ``duration`` (e.g. ``2h``); ``starts_at`` defaults to now."""
    now = api.clock()
    starts = body.starts_at or now
    if body.duration is not None:
        try:
            ends = starts + parse_duration(body.duration)
        except (ValueError, OverflowError) as exc:
            raise _invalid(("body", "duration"), str(exc), body.duration) from None
    else:
        assert body.ends_at is not None  # the model asks for one of the two
        ends = body.ends_at
    if ends <= starts:
        raise _invalid(("body", "ends_at"), "must be after starts_at", ends.isoformat())
    if ends > datetime.max.replace(tzinfo=timezone.utc) - timedelta(days=2):
        raise _invalid(("body", "ends_at"), "is too far in the future", ends.isoformat())
    m = body.matchers
    if not api.known(m.monitor):
        raise _invalid(("body", "matchers", "monitor"), f"no monitor {m.monitor!r}", m.monitor)
    made = store_alerts.add_silence(api.store.engine, monitor=m.monitor, detector=m.detector, feature=m.feature,
                                    metric=m.metric, starts_at=starts, ends_at=ends, created_by=body.created_by,
                                    comment=body.comment, now=now)
    return SilenceOut.of(made, now)


@router.delete("/silences/{silence_id}", response_model=SilenceOut, dependencies=[Depends(may_change)],
               responses={**_NOT_FOUND, 403: {"model": Problem, "description": "Changes need web.auth_token"}},
               summary="End a silence now")
def expire_silence(api: ApiState, silence_id: Id) -> SilenceOut:
    now = api.clock()
    ended = store_alerts.expire_silence(api.store.engine, silence_id, now)
    if ended is None:
        raise HTTPException(status_code=404, detail=f"no silence {silence_id}")
    return SilenceOut.of(ended, now)


@router.get("/outbox", response_model=list[OutboxOut], summary="Queued, delivered and dead notifications")
def outbox(api: ApiState, state: Literal["pending", "delivered", "dead"] | None = None,
           limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[OutboxOut]:
    """Newest first, without bodies: a body may quote data and a signed event its webhook-id."""
    return [OutboxOut(id=r.id, target=r.target, kind=r.kind, monitor=r.monitor, event_type=r.event_type,
                      state=r.state, attempts=r.attempts, created_at=r.created_at,
                      next_attempt_at=r.next_attempt_at, delivered_at=r.delivered_at,
                      last_status=r.last_status, last_error=r.last_error)
            for r in store_outbox.list_outbox(api.store.engine, state=state, limit=limit)]


@router.get("/schemas/webhook-event", response_model=dict[str, Any],
            summary="JSON Schema of every webhook event body")
def webhook_event_schema() -> dict[str, Any]:
    return WEBHOOK_EVENT_SCHEMA

