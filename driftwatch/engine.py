"""Run one monitor over one window: fetch, profile, detect, store. Nothing else.

The run is claimed by its ``runs`` row first; whatever happens after, the row ends
``succeeded`` (with all results written in one transaction) or ``failed`` (with an ``error``
result saying why), never ``running``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from .detectors import CurrentData
from .errors import DataError, DriftwatchError
from .model import Finding, Result, Schema, Window
from .profiling import Profile, ProfileOptions, cache_key, profile

log = logging.getLogger("driftwatch.engine")

#: The detector name of results the engine itself writes (a failed run).
ENGINE = "engine"


def detect(reference: Profile, current: pd.DataFrame, detectors: Sequence[object]) -> list[tuple[str, Finding]]:
    """Every detector's findings on one current window, tagged with the detector name."""
    data = CurrentData(current, reference)
    out: list[tuple[str, Finding]] = []
    for detector in detectors:
        name = type(detector).name  # type: ignore[attr-defined]
        for finding in detector.run(reference, data, reference.schema):  # type: ignore[attr-defined]
            out.append((name, finding))
    return out


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class RunOutcome:
    """What one run produced: its id, status, results, and the error that failed it."""

    monitor: str
    window: Window
    run_id: int | None
    status: str
    results: list[Result] = field(default_factory=list)
    error: str | None = None


def reference_window(monitor: object, window: Window) -> Window | None:
    """The time range the reference is read for: fixed, rolling before ``window``, or all rows."""
    ref = monitor.reference  # type: ignore[attr-defined]
    if ref.rolling:
        length: timedelta = window.end - window.start
        return Window(window.start - ref.rolling * length, window.start)
    if ref.start is not None or ref.end is not None:
        start = ref.start or datetime(1970, 1, 1)
        end = ref.end or window.start
        return Window(start, end)
    return None


def load_reference(monitor: object, window: Window, store: object, options: ProfileOptions) -> Profile:
    """The reference profile of ``monitor`` for ``window``, from the store's cache when its
    source has not changed, otherwise read, profiled and cached."""
    ref = monitor.reference  # type: ignore[attr-defined]
    connector = ref.connector or monitor.current  # type: ignore[attr-defined]
    schema: Schema | None = monitor.schema  # type: ignore[attr-defined]
    ref_window = reference_window(monitor, window)
    key = cache_key(connector.version(ref_window), schema, options)
    cached = store.get_profile(key)  # type: ignore[attr-defined]
    if cached is not None:
        try:
            return Profile.from_bytes(cached)
        except DataError:
            log.info("cached profile %s is stale; rebuilding", key[:12])
    columns = list(schema.columns) if schema is not None else None
    frame = connector.fetch(ref_window, columns)
    if frame.empty:
        raise DataError(f"monitor {monitor.name!r}: the reference data is empty"  # type: ignore[attr-defined]
                        + (f" for {ref_window}" if ref_window else ""))
    built = profile(frame, schema, options)
    store.put_profile(key, monitor.name, built.to_bytes())  # type: ignore[attr-defined]
    return built


def run_monitor(monitor: object, window: Window, *, store: object, options: ProfileOptions,
                owner: str | None = None, rerun: bool = True) -> RunOutcome:
    """Run ``monitor`` over ``window`` and store the outcome.

    A window another process already claimed (``rerun=False``) comes back ``skipped``; any
    failure comes back ``failed`` with one ``error`` result, and the other monitors go on."""
    name: str = monitor.name  # type: ignore[attr-defined]
    run_id = store.start_run(name, window, owner=owner or default_owner(), rerun=rerun)  # type: ignore[attr-defined]
    if run_id is None:
        return RunOutcome(name, window, None, "skipped")
    rows_reference: int | None = None
    try:
        reference = load_reference(monitor, window, store, options)
        rows_reference = reference.n_rows
        needed: set[str] = set()
        for detector in monitor.detectors:  # type: ignore[attr-defined]
            needed |= detector.required_columns(reference.schema)
        current = monitor.current.fetch(window, sorted(needed))  # type: ignore[attr-defined]
        results = [Result.stamp(f, monitor=name, run_id=run_id, window=window, detector=d)
                   for d, f in detect(reference, current, monitor.detectors)]  # type: ignore[attr-defined]
        store.finish_run(run_id, results, rows_reference=rows_reference,  # type: ignore[attr-defined]
                         rows_current=int(len(current)))
        return RunOutcome(name, window, run_id, "succeeded", results)
    except Exception as exc:  # every failure ends the run as failed, never left running
        message = str(exc) if isinstance(exc, DriftwatchError) else f"{type(exc).__name__}: {exc}"
        message = " ".join(message.split())
        if not isinstance(exc, DriftwatchError):
            log.exception("monitor %s window %s run %s failed", name, window, run_id)
        error = Result(monitor=name, run_id=run_id, window_start=window.start, window_end=window.end,
                       detector=ENGINE, feature="", metric="run", value=None, p_value=None,
                       threshold=None, status="error", details={"error": message})
        store.fail_run(run_id, message, [error])  # type: ignore[attr-defined]
        return RunOutcome(name, window, run_id, "failed", [error], error=message)
