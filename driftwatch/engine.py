"""Run one monitor over one window: fetch, profile, detect, store. Nothing else.

The run is claimed by its ``runs`` row first; whatever happens after, the row ends
``succeeded`` (with all results written in one transaction) or ``failed`` (with an ``error``
result saying why), never ``running`` — unless the store itself cannot be written (server
gone, disk read-only or full): then nothing is written, the row stays ``running`` (the
scheduler's lease hands it on) and the store's error goes up to whoever says it once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pandas as pd
from sqlalchemy.exc import OperationalError

from .detectors import CurrentData, Detector, joint_rows_wanted
from .errors import DataError, DriftwatchError
from .labels import join_labels
from .model import Finding, Result, Window
from .profiling import Profile, ProfileOptions, cache_key, profile
from .pushdown.run import pushed_down, pushed_reference
from .segment_causes import with_segment_causes
from .segments import SegmentProfiles, columns_needed, detect_segments
from .segments import build as build_segments

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from .alerts.evaluate import AlertContext
    from .config import MonitorSettings
    from .store import Store

log = logging.getLogger("driftwatch.engine")

#: The detector name of results the engine itself writes (a failed run).
ENGINE = "engine"


def detect(reference: Profile, current: pd.DataFrame | CurrentData, detectors: Sequence[Detector],
           context: Mapping[str, Any] | None = None) -> list[tuple[str, Finding]]:
    """Every detector's findings on one current window, tagged with the detector name."""
    data = current if isinstance(current, CurrentData) else CurrentData(current, reference, context=context)
    return [(type(detector).name, finding)
            for detector in detectors
            for finding in detector.run(reference, data, reference.schema)]


#: Random per process: a restarted container may reuse the host name and pid (pid 1), and a
#: new process must never pass for the one that held a claim before it.
_INSTANCE = secrets.token_hex(3)


def default_owner() -> str:
    """Who claims a run: ``host/instance:pid``, unique per process and traceable to it."""
    return f"{socket.gethostname()}/{_INSTANCE}:{os.getpid()}"


@dataclass(frozen=True)
class RunOutcome:
    """What one run produced: its id, status, results, and the error that failed it."""

    monitor: str
    window: Window
    run_id: int | None
    status: str
    results: list[Result] = field(default_factory=list)
    error: str | None = None


def reference_windows(monitor: MonitorSettings, window: Window) -> list[Window | None]:
    """What the reference is read over: the ``rolling`` windows before ``window`` (each read on
    its own, so a daily-file path template works), a fixed range, or all rows (``[None]``)."""
    ref = monitor.reference
    if ref.rolling:
        length = window.end - window.start
        return [Window(window.start - k * length, window.start - (k - 1) * length)
                for k in range(ref.rolling, 0, -1)]
    if ref.start is not None or ref.end is not None:
        return [Window(ref.start or datetime(1970, 1, 1, tzinfo=timezone.utc), ref.end or window.start)]
    return [None]


def reference_key(monitor: MonitorSettings, window: Window, options: ProfileOptions) -> str:
    """The cache key of ``monitor``'s reference profile for ``window`` (a stat or a key of its
    source, not a read)."""
    connector = monitor.reference.connector or monitor.current
    version = "/".join(connector.version(w) for w in reference_windows(monitor, window))
    return cache_key(version, monitor.schema, options, joint_rows_wanted(monitor.detectors))


def load_reference(monitor: MonitorSettings, window: Window, store: Store, options: ProfileOptions,
                   now: datetime | None = None) -> Profile:
    """The reference profile of ``monitor`` for ``window``: from the store's cache when its
    source has not changed, otherwise read, profiled, cached. A monitor with a multivariate
    detector gets a profile that keeps rows whole too."""
    joint = joint_rows_wanted(monitor.detectors)
    key = reference_key(monitor, window, options)
    found = _cached(key, store, Profile.from_bytes)
    if found is not None:
        return found
    built = pushed_reference(monitor, reference_windows(monitor, window), options, joint_rows=joint) or profile(
        read_reference(monitor, window, now), monitor.schema, options, joint_rows=joint)
    store.put_profile(key, monitor.name, built.to_bytes())
    return _remember(key, built)


def load_segments(monitor: MonitorSettings, window: Window, store: Store, options: ProfileOptions,
                  whole: Profile, now: datetime | None = None) -> SegmentProfiles | None:
    """The reference profile of each of ``monitor``'s segments, cached like the reference's
    (``whole``) under a key of its own; None for a monitor without ``segments``."""
    spec = monitor.segments
    if spec is None:
        return None
    parts = [reference_key(monitor, window, options), "segments", list(spec.columns), spec.top, spec.min_rows]
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
    found = _cached(key, store, SegmentProfiles.from_bytes)
    if found is not None:
        return found
    built = build_segments(read_reference(monitor, window, now), whole, spec, options,
                           joint_rows_wanted(monitor.detectors))
    store.put_profile(key, monitor.name, built.to_bytes())
    return _remember(key, built)


def read_reference(monitor: MonitorSettings, window: Window, now: datetime | None = None) -> pd.DataFrame:
    """The reference rows of ``monitor`` for ``window``, labels joined; ``DataError`` when empty."""
    connector = monitor.reference.connector or monitor.current
    ref_windows = reference_windows(monitor, window)
    columns = list(monitor.schema.columns) + columns_needed(monitor.segments, monitor.schema) \
        if monitor.schema is not None else None
    frames = [connector.fetch(w, columns) for w in ref_windows]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    schema = monitor.schema
    if monitor.labels is not None and schema is not None and schema.target not in frame.columns:
        frame = join_labels(frame, monitor.labels, schema, None, now or datetime.now(timezone.utc),
                            where=f"monitor {monitor.name!r} reference")
    if frame.empty:
        where = f" for [{ref_windows[0].start.isoformat()}, {ref_windows[-1].end.isoformat()})" \
            if ref_windows[0] is not None and ref_windows[-1] is not None else ""
        raise DataError(f"monitor {monitor.name!r}: the reference data{_source(connector)} is empty{where}")
    return frame


def _source(connector: object) -> str:
    """Where a connector reads, for an error: its file, or its SQL table (a query is not echoed)."""
    path = getattr(connector, "path", None)
    if isinstance(path, str):
        return f" ({path})"
    table = getattr(connector, "table", None)
    return f" (table {table})" if isinstance(table, str) else ""


#: Profiles recently used by this process, by cache key (which changes with the data): a daemon
#: checking a monitor every minute skips the store round trip and the decompression.
_RECENT: OrderedDict[str, Profile | SegmentProfiles] = OrderedDict()
_RECENT_SIZE = 64
_RECENT_LOCK = threading.Lock()


_Cached = TypeVar("_Cached", Profile, SegmentProfiles)


def _cached(key: str, store: Store, decode: Callable[[bytes], _Cached]) -> _Cached | None:
    """What ``key`` holds: this process's copy, else the store's decoded; None when neither
    has it or the stored one has an old format (to be rebuilt)."""
    if key in _RECENT:
        return cast(_Cached, _RECENT[key])
    stored = store.get_profile(key)
    if stored is None:
        return None
    try:
        return _remember(key, decode(stored))
    except DataError:
        log.info("cached profile %s has an old format; rebuilding", key[:12])
        return None


def _remember(key: str, built: _Cached) -> _Cached:
    with _RECENT_LOCK:
        _RECENT[key] = built
        _RECENT.move_to_end(key)
        while len(_RECENT) > _RECENT_SIZE:
            _RECENT.popitem(last=False)
    return built


def run_monitor(monitor: MonitorSettings, window: Window, *, store: Store, options: ProfileOptions,
                owner: str | None = None, rerun: bool = True, now: datetime | None = None,
                alerts: AlertContext | None = None) -> RunOutcome:
    """Run ``monitor`` over ``window`` and store the outcome.

    A window another process already claimed (``rerun=False``) comes back ``skipped``; any
    failure comes back ``failed`` with one ``error`` result, and the other monitors go on.
    ``now`` (default: the clock) decides whether the window's labels are due yet."""
    run_id = store.start_run(monitor.name, window, owner=owner or default_owner(), rerun=rerun)
    if run_id is None:
        return RunOutcome(monitor.name, window, None, "skipped")
    return execute_run(monitor, window, run_id, store=store, options=options, now=now, alerts=alerts)


def _alert_hook(alerts: AlertContext | None, monitor: MonitorSettings, run_id: int, results: list[Result],
                error: str | None, now: datetime) -> Callable[[Connection, Window], object] | None:
    """Alert evaluation, run inside the transaction that stores the run's outcome."""
    if alerts is None:
        return None
    from .alerts.evaluate import evaluate

    def hook(conn: Connection, window: Window) -> object:
        done = evaluate(conn, context=alerts, monitor=monitor, run_id=run_id, window=window, results=results,
                        error=error, now=now)
        if done.late is not None:
            log.warning("monitor %s run %s window %s is late: window ending %s was judged already (run %s); "
                        "its results are stored, its alerts not moved", monitor.name, run_id, window,
                        done.late.window_end.isoformat(), done.late.run_id)
        return done
    return hook


def store_reason(exc: OperationalError) -> str:
    """The first line of the database's own message: ``disk I/O error``, ``connection refused ...``."""
    lines = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def execute_run(monitor: MonitorSettings, window: Window, run_id: int, *, store: Store,
                options: ProfileOptions, now: datetime | None = None,
                owner: str | None = None, alerts: AlertContext | None = None) -> RunOutcome:
    """Do the work of a run whose ``runs`` row is already claimed (by ``start_run`` or the
    scheduler's lease claim) and close it: ``succeeded`` with every result, or ``failed``.
    With ``owner`` the closing write only lands while this process still owns the claim.
    With ``alerts`` the run's alerts are evaluated and its notifications queued in the same
    transaction as its outcome."""
    now = now or datetime.now(timezone.utc)
    closing: dict[str, Any] = {"owner": owner} if owner is not None else {}
    try:
        reference = load_reference(monitor, window, store, options, now)
        segmented = load_segments(monitor, window, store, options, reference, now)
        needed: set[str] = set(columns_needed(monitor.segments, None))
        for detector in monitor.detectors:
            needed |= detector.required_columns(reference.schema)
        if monitor.labels is not None:
            id_column = monitor.labels.id_column or reference.schema.id
            if id_column:
                needed.add(id_column)
        context = {}
        if now < window.end + monitor.label_delay:
            context["labels_due_at"] = (window.end + monitor.label_delay).isoformat()
        data = pushed_down(monitor, window, reference, sorted(needed), options, context)
        if data is None:
            # Without a configured schema every column is watched, so read them all (new ones too).
            current = monitor.current.fetch(window, sorted(needed) if monitor.schema is not None else None)
            if monitor.labels is not None:
                current = join_labels(current, monitor.labels, reference.schema, window, now,
                                      where=f"monitor {monitor.name!r} window {window}")
            data = CurrentData(current, reference, context=context)
        found = [("", d, f) for d, f in detect(reference, data, monitor.detectors, context)]
        if segmented is not None and monitor.segments is not None:
            found = with_segment_causes(found + detect_segments(segmented, monitor.segments, data.frame,
                                                                monitor.detectors, context))
        results = [Result.stamp(f, monitor=monitor.name, run_id=run_id, window=window, detector=d, segment=s)
                   for s, d, f in found]
        store.finish_run(run_id, results, rows_reference=reference.n_rows, rows_current=data.n_rows,
                         after=_alert_hook(alerts, monitor, run_id, results, None, now), **closing)
        return RunOutcome(monitor.name, window, run_id, "succeeded", results)
    except Exception as exc:  # every failure ends the run as failed, never left running
        if isinstance(exc, DriftwatchError):
            message = " ".join(str(exc).split())
        elif isinstance(exc, OperationalError):  # the store failed, not the code: its reason says it all
            message = "store: " + " ".join(store_reason(exc).split())
        else:
            message = " ".join(f"{type(exc).__name__}: {exc}".split())
            log.exception("monitor %s window %s run %s failed", monitor.name, window, run_id)
        error = Result(monitor=monitor.name, run_id=run_id, window_start=window.start, window_end=window.end,
                       detector=ENGINE, feature="", metric="run", value=None, p_value=None,
                       threshold=None, status="error", details={"error": message})
        try:
            store.fail_run(run_id, message, [error], after=_alert_hook(alerts, monitor, run_id, [error], message, now),
                           **closing)
        except Exception as again:
            if isinstance(again, OperationalError):  # the store cannot record anything: the caller says so once
                log.info("monitor %s window %s run %s: the store could not record its outcome (%s); left running",
                         monitor.name, window, run_id, store_reason(again))
                raise
            if alerts is None:
                raise
            # Alerting itself broke: still close the run as failed rather than leave it running.
            log.exception("monitor %s run %s: alert evaluation failed", monitor.name, run_id)
            store.fail_run(run_id, message, [error], **closing)
        return RunOutcome(monitor.name, window, run_id, "failed", [error], error=message)
