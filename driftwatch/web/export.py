"""One run's report as a single HTML file that opens offline, and the same in a notebook.

``driftwatch report`` writes it from a stored run; ``Results.save_html`` and
``Results._repr_html_`` write it from what ``driftwatch.check`` returned. All of them draw the
run page's own templates (``_run_meta.html``, ``_report.html``) with the page's charts through
``build_report``, so a file shows what the run page shows. What differs is the frame: the
stylesheet is inlined, no script is loaded (the table is complete without ``table.js``, which
only sorts and filters), nothing links into the web app, and the file's Content-Security-Policy
forbids every request, so opening it fetches nothing and runs nothing.
"""

from __future__ import annotations

import functools
import html
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path

from jinja2 import Template
from markupsafe import Markup

from ..errors import ConfigError
from ..jsonsafe import json_safe
from ..model import SEVERITY, Result
from ..store import Store, queries, reports
from ..store.alerts import late_run
from ..store.results import StoredResult
from .report import RunReport, build_report
from .templating import ago, environment

__all__ = ["notebook_html", "results_html", "stored_run_html", "write_atomically"]

#: A report file asks for nothing: its styles are inline and its charts are inline SVG.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
#: How tall a report is drawn in a notebook cell (it scrolls inside).
NOTEBOOK_HEIGHT = "640px"


@functools.cache
def _standalone() -> tuple[Template, Markup]:
    """The file's template and the stylesheet it inlines, loaded once per process: a notebook
    draws a report at every display."""
    css = Markup(files("driftwatch.web").joinpath("static/style.css").read_text(encoding="utf-8"))
    return environment().get_template("standalone.html"), css


def _render(report: RunReport, *, title: str, now: datetime | None, **context: object) -> str:
    template, css = _standalone()
    return template.render(title=title, report=report, css=css, csp=CSP, now=now or datetime.now(timezone.utc),
                           ago=ago, severity=SEVERITY, links=False, root="", **context)


def stored_run_html(store: Store, run_id: int, *, segment: str = "", now: datetime | None = None) -> str:
    """The report of stored run ``run_id`` (one segment's with ``segment``) as one HTML file.

    Raises ``ConfigError`` naming the run or segment when the store has no such thing.
    """
    record = store.run(run_id)
    if record is None:
        raise ConfigError(f"--run: no run {run_id} in the store")
    with store.engine.connect() as conn:
        if segment and segment not in {s.segment for s in reports.run_segments(conn, run_id)}:
            raise ConfigError(f"--segment: run {run_id} has no segment {segment!r}")
        report = build_report(queries.run_results(conn, run_id, segment=segment))
        late = late_run(conn, run_id)
    title = f"run {record.id}{' · ' + segment if segment else ''} · {record.monitor} · driftwatch"
    return _render(report, title=title, now=now, run=record, late=late, segment=segment)


def _one_run(results: Sequence[Result]) -> tuple[str, datetime | None, datetime | None]:
    runs = {(r.monitor, r.run_id, r.window_start, r.window_end) for r in results}
    if len(runs) > 1:
        raise ValueError(f"these results are of {len(runs)} runs (monitor and window); a report shows one: "
                         "select the results of one first")
    monitor, _, start, end = next(iter(runs)) if runs else ("no results", None, None, None)
    return monitor, start, end


def results_html(results: Sequence[Result], *, now: datetime | None = None) -> str:
    """The report of ``results`` (of one monitor and window, as ``check`` returns) as one HTML
    file; a segment's results are left out, as on the run page, which shows one segment at a time."""
    monitor, start, end = _one_run(results)
    rows = [StoredResult(**{**vars(r), "details": json_safe(r.details), "id": i})  # details as the store keeps them
            for i, r in enumerate(results, start=1) if not r.segment]
    title = f"{monitor}{' · ' + f'{start:%Y-%m-%d %H:%M}' if start else ''} · driftwatch"
    return _render(build_report(rows), title=title, now=now, run=None, late=None, segment="", monitor=monitor,
                   window_start=start, window_end=end)


def notebook_html(results: Sequence[Result]) -> str:
    """The report framed for a notebook cell: the file's HTML in a sandboxed ``iframe``, so its
    stylesheet cannot restyle the notebook and nothing in it can run."""
    document = results_html(results)
    return (f'<iframe title="driftwatch report" sandbox srcdoc="{html.escape(document, quote=True)}" '
            f'style="width: 100%; height: {NOTEBOOK_HEIGHT}; border: 1px solid #8884"></iframe>')


def write_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file beside it, so a reader (or a crash)
    never sees half a report."""
    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
