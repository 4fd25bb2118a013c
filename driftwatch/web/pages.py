"""The server-rendered pages: ``/`` (every monitor), ``/monitors/{name}`` and ``/runs/{id}``
(``?segment=country=BR``: one segment's results of a run of a monitor with ``segments``).

They read the store through ``driftwatch.store.reports`` (a few indexed statements per page) and
draw their charts on the server (``charts``, ``charts_dist``), so a page is complete HTML that
works offline and with JavaScript off; ``static/table.js`` only adds sorting and filtering of the
report table. Jinja2 autoescapes everything: a feature called ``<script>alert(1)</script>`` is
shown as text, and the Content-Security-Policy sent with each page forbids inline scripts as a
second line of defence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ..model import SEVERITY
from ..store import queries, reports
from ..store.alerts import firing_states, late_run, list_silences
from .api import MAX_SMALL_ID
from .api_models import clean_text
from .charts import Point, sparkline, timeseries
from .report import RunReport, build_report
from .templating import ago, environment

if TYPE_CHECKING:
    from ..config import MonitorSettings, Settings
    from ..store import RunRecord, Store

__all__ = ["PagesContext", "is_stale", "router"]

#: Pages load nothing from elsewhere and run no inline script: say so to the browser.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
RUNS_PER_PAGE = 50


@dataclass
class MonitorLine:
    """One row of the overview."""

    name: str
    configured: bool
    last_run: RunRecord | None = None
    firing: int = 0
    stale: bool = False
    stale_since: datetime | None = None
    spark: Any = None
    latest_share: float | None = None

    @property
    def failed(self) -> bool:
        return self.last_run is not None and self.last_run.status == "failed"

    @property
    def flags(self) -> list[str]:
        return [flag for flag, on in (("failed", self.failed), ("stale", self.stale)) if on]


@dataclass
class Series:
    """One chart of the monitor page."""

    detector: str
    metric: str
    chart: Any
    latest: reports.DataPoint
    alerts: int = 0
    statuses: list[str] = field(default_factory=list)


def is_stale(monitor: MonitorSettings, last_success: RunRecord | None, now: datetime) -> tuple[bool, datetime | None]:
    """Whether no window newer than two schedule periods (plus the schedule's delay) has
    succeeded; and since when the monitor has been overdue."""
    if last_success is None:
        return True, None
    overdue_at = last_success.window_end + monitor.schedule.delay + 2 * monitor.schedule.period
    return now > overdue_at, overdue_at


def _run_id(text: str) -> bool:
    """Digits naming a possible run: ``runs.id`` is 32-bit on PostgreSQL, which refuses to even
    compare a larger number.

    >>> _run_id("12"), _run_id("2147483648"), _run_id("1\x0b"), _run_id("-1")
    (True, False, False, False)
    """
    return text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_SMALL_ID


def _storable(text: str) -> bool:
    """Text a database column can hold (no NUL, no lone surrogate)."""
    try:
        clean_text(text)
    except ValueError:
        return False
    return True


def _logout_token(request: Request) -> str | None:
    """The logout token the login check left for this request (None: no login, no logout form)."""
    token = getattr(request.state, "logout_token", None)
    return token if isinstance(token, str) else None


class PagesContext:
    """What the pages read and the caches they keep, on the app (``app.state.pages``) rather than
    in closures, so the routes are module-level functions.

    ``settings`` adds configured monitors that have not run yet and lets the overview tell stale
    monitors (their schedule says a run is overdue); ``clock`` is "now" for staleness, silences
    and the "3 h ago" texts.
    """

    def __init__(self, store: Store, settings: Settings | None, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self.env = environment()
        self.configured = {m.name: m for m in settings.monitors} if settings is not None else {}
        # The overview's sparklines by monitor, with the (latest run id, its status) they were
        # drawn at: a monitor's drift share only changes when a run of it starts or ends, so most
        # requests redraw none, and skip the one statement whose cost grows with monitors x windows.
        self.sparks: dict[str, tuple[tuple[int, str], Any, float | None]] = {}
        # The last overview page drawn, with everything it shows as its key: while no run lands,
        # no alert changes and no "3 h ago" text moves on, the same bytes are served again.
        # Requests run in threads: each entry of both caches is replaced whole, by one dict
        # assignment, so two requests at once at worst draw the same thing twice.
        self.drawn: dict[str, tuple[tuple[Any, ...], bytes]] = {}


def _context(request: Request) -> PagesContext:
    context: PagesContext = request.app.state.pages
    return context


#: A page's view of its app.
PagesState = Annotated[PagesContext, Depends(_context)]


def page(pages: PagesContext, request: Request, template: str, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """``template`` drawn with ``context``, sent with the pages' headers."""
    context.setdefault("title", "driftwatch")
    html = pages.env.get_template(template).render(root=request.scope.get("root_path", ""),
                                                   logout_token=_logout_token(request), **context)
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


def not_found(pages: PagesContext, request: Request, what: str) -> HTMLResponse:
    return page(pages, request, "not_found.html", 404, title="not found", what=what)


#: The pages' routes; the app mounts them behind the page login.
router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def overview(request: Request, pages: PagesState) -> HTMLResponse:
    now = pages.clock()
    with pages.store.engine.connect() as conn:
        stored = reports.monitor_overview(conn)
        keys = {name: (head.last_run.id, head.last_run.status) if head.last_run else (0, "")
                for name, head in stored.items()}
        if any(name not in pages.sparks or pages.sparks[name][0] != key for name, key in keys.items()):
            drawn_points = reports.drift_share_sparks(conn)
            for name in stored:
                points = drawn_points.get(name, [])
                chart = sparkline([p.value for p in points], lo=0, hi=1,
                                  alerts=[p.status in ("alert", "warn") for p in points],
                                  title=f"{name}: data-set drift share, last {len(points)} windows")
                pages.sparks[name] = (keys[name], chart, points[-1].value if points else None)
        firing = queries.firing_counts(conn)
    lines = []
    for name in list(pages.configured) + sorted(set(stored) - set(pages.configured)):
        row = stored.get(name)
        line = MonitorLine(name, name in pages.configured, row.last_run if row else None, firing.get(name, 0))
        if row is not None and name in pages.configured:
            line.stale, line.stale_since = is_stale(pages.configured[name], row.last_success, now)
        if name in pages.sparks:
            _, line.spark, line.latest_share = pages.sparks[name]
        else:
            line.spark = sparkline([], title=f"{name}: no data-set drift share yet")
        lines.append(line)
    counts = {"failed": sum(line.failed for line in lines), "stale": sum(line.stale for line in lines),
              "firing": sum(1 for line in lines if line.firing)}
    shown = (request.scope.get("root_path", ""), _logout_token(request), tuple(
        (line.name, line.configured, line.last_run, line.firing, line.stale, line.stale_since,
         pages.sparks[line.name][0] if line.name in pages.sparks else None, line.latest_share,
         ago(line.last_run.finished_at or line.last_run.started_at, now) if line.last_run else "")
        for line in lines))
    previous = pages.drawn.get("/")
    if previous is not None and previous[0] == shown:
        return HTMLResponse(previous[1], headers=HEADERS)
    response = page(pages, request, "index.html", lines=lines, counts=counts, now=now, ago=ago,
                    spark_windows=reports.SPARK_WINDOWS)
    pages.drawn["/"] = (shown, bytes(response.body))
    return response

@router.get("/monitors/{name}", response_class=HTMLResponse, include_in_schema=False)
def monitor(request: Request, pages: PagesState, name: str, before_id: str | None = None) -> HTMLResponse:
    now = pages.clock()
    cursor: int | None = None
    if not _storable(name):  # no monitor can have this name, and PostgreSQL would refuse to look
        return not_found(pages, request, "that monitor")
    if before_id is not None:
        if not _run_id(before_id):
            return page(pages, request, "not_found.html", 400, title="bad request",
                        problem=f"before_id must be a run id, got {before_id!r}.")
        cursor = int(before_id)
    with pages.store.engine.connect() as conn:
        latest = reports.latest_run(conn, name)
        if latest is None and name not in pages.configured:
            return not_found(pages, request, f"monitor {name!r}")
        runs, next_id = reports.run_page(conn, name, before_id=cursor, limit=RUNS_PER_PAGE)
        series = reports.dataset_series(conn, name) if cursor is None else {}
        dead = reports.dead_outbox(conn, name)
        success = reports.last_success(conn, name) if latest is not None else None
    stale = is_stale(pages.configured[name], success, now) if name in pages.configured and latest is not None else None
    charts, empty = [], []
    for (detector, metric), points in series.items():
        marked = [p for p in points if p.status in ("alert", "warn", "error")]
        if all(p.value is None for p in points) and not marked:
            empty.append(f"{detector} · {metric}")
            continue
        chart = timeseries([Point(p.window_end, p.value, p.threshold, p.status) for p in points],
                           title=f"{name}: {detector} {metric} over {len(points)} windows")
        charts.append(Series(detector, metric, chart, points[-1], len(marked)))
    charts.sort(key=lambda s: (-SEVERITY.get(s.latest.status, 0), s.detector, s.metric))
    silences = list_silences(pages.store.engine, monitor=name, now=now, include_expired=False)
    return page(pages, request, "monitor.html", title=f"{name} · driftwatch", name=name, latest=latest,
                configured=name in pages.configured, runs=runs, next_id=next_id, paged=cursor is not None,
                charts=charts, empty=empty, firing=firing_states(pages.store.engine, name), silences=silences,
                dead=dead, now=now, ago=ago, stale=stale)

@router.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
def run(request: Request, pages: PagesState, run_id: str, segment: str = "") -> HTMLResponse:
    """One run's report: its whole window's results, or with ``?segment=country=BR`` one
    segment's; the run's segments are listed with their row counts either way."""
    if not _run_id(run_id):
        return not_found(pages, request, f"run {run_id!r}")
    record = pages.store.run(int(run_id))
    if record is None:
        return not_found(pages, request, f"run {run_id}")
    with pages.store.engine.connect() as conn:
        segments = reports.run_segments(conn, record.id)
        if segment and segment not in {s.segment for s in segments}:  # before the text reaches a query
            return not_found(pages, request, f"segment {segment!r} of run {record.id}")
        report: RunReport = build_report(queries.run_results(conn, record.id, segment=segment))
        late = late_run(conn, record.id)
    title = f"run {record.id}{' · ' + segment if segment else ''} · {record.monitor} · driftwatch"
    return page(pages, request, "run.html", title=title, run=record, report=report, late=late, now=pages.clock(),
                ago=ago, severity=SEVERITY, segment=segment, links=True,
                segments=segments if any(s.segment for s in segments) else [])


