"""The daemon: APScheduler jobs that claim and run monitor windows, catch-up, reload, shutdown.

One process runs a scheduler with an in-memory job store (never a shared ``SQLAlchemyJobStore``:
APScheduler 3 cannot share one between processes), a thread pool sized to the monitors, the
outbox dispatcher as a job of its own, the web app in a thread of its own, and signal handlers.
Several processes may run against one database: each window is claimed by inserting its ``runs``
row (the unique constraint picks one winner), and a claim carries a lease renewed every
``lease / 3``, so a window left ``running`` by a killed process is taken over once its lease
expires (R26, R27).

When the store stops answering (a PostgreSQL restart, a read-only disk), the monitor jobs say so
once and once more when it answers again, instead of a traceback every tick; the windows due
meanwhile are caught up, and a run that could not store its outcome is left to its lease.

Claiming and running one window (the ``Runner`` and its lease ``Heartbeat``) is ``runner``'s job;
this module schedules it, with the dispatcher, the reload check, retention and the web server.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, cast

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .alerts.dispatcher import Dispatcher
from .config import Settings, load
from .config.live import LiveSettings
from .errors import ConfigError
from .runner import Runner, utcnow
from .signals import Signals
from .store import Store

if TYPE_CHECKING:
    from .web.server import WebServer

log = logging.getLogger("driftwatch.scheduler")

#: The executor of the daemon's own jobs, apart from the monitors' pool.
INTERNAL = "internal"


def start_offset(name: str, period: timedelta, spread: timedelta) -> timedelta:
    """How long after its instant the monitor ``name`` starts: a fixed share of ``spread``
    (capped at a quarter of ``period``) taken from a hash of the name.

    Five hundred monitors on ``"0 * * * *"`` would otherwise all wake at 10:00:00 and queue for
    the CPU; spread over 15 s each starts when planned. The offset is the same in every process
    and on every start, so replicas agree on when a window is due.

    >>> start_offset("churn", timedelta(hours=1), timedelta(seconds=15))
    datetime.timedelta(seconds=8, microseconds=9000)
    >>> start_offset("churn", timedelta(seconds=1), timedelta(seconds=15)) <= timedelta(seconds=0.25)
    True
    >>> start_offset("churn", timedelta(hours=1), timedelta(0))
    datetime.timedelta(0)
    """
    span = min(spread, period / 4).total_seconds()
    share = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") / 2**64
    return timedelta(milliseconds=round(span * share * 1000))


class Daemon:
    """The whole long-running process: scheduler, optional web server, reload and shutdown."""

    def __init__(self, config_path: str | Path, *, web: bool = True, dispatcher: bool = True,
                 clock: Callable[[], datetime] = utcnow, host: str | None = None, port: int | None = None) -> None:
        self.config_path = Path(config_path)
        self.settings = load(self.config_path)
        for warning in self.settings.warnings:
            log.warning("config: %s", warning)
        #: What the web app reads on each request: swapped on reload (removed monitors vanish).
        self.live = LiveSettings(self.settings)
        self.store = Store(self.settings.store.url.reveal())
        self.clock = clock
        self.runner = Runner(self.store, self.settings, clock=clock)
        self.events: Counter[str] = Counter()
        self.web = web
        # Outbox rows are leased like runs: a killed process's rows are sent again after daemon.lease.
        self.dispatcher = Dispatcher(self.store, self.settings.channels, self.settings.webhooks,
                                     owner=self.runner.owner, clock=clock, lease=self.runner.lease) \
            if dispatcher else None
        self.host = host or self.settings.web.host
        self.port = port if port is not None else self.settings.web.port
        self.stopped = threading.Event()
        self._mtime = self._config_mtime()
        self._server: WebServer | None = None
        workers = self.settings.daemon.workers or min(32, max(1, len(self.settings.monitors)))
        self.scheduler = BackgroundScheduler(
            # The daemon's own jobs (dispatcher, reload check, retention) get threads of their own:
            # monitors queued on a busy pool must not hold back notifications or a reload.
            timezone=timezone.utc, executors={"default": ThreadPoolExecutor(workers),
                                              INTERNAL: ThreadPoolExecutor(3)},
            job_defaults={"coalesce": True, "max_instances": 1})
        self.scheduler.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self.store.create_all()
        self._add_monitor_jobs(self.settings)
        reload_every = self.settings.daemon.reload_check
        assert isinstance(reload_every, timedelta)
        self.scheduler.add_job(self._check_reload, IntervalTrigger(seconds=reload_every.total_seconds()),
                               executor=INTERNAL,
                               id="reload-check", misfire_grace_time=max(1, int(reload_every.total_seconds())))
        self.scheduler.add_job(self.runner.retention, IntervalTrigger(hours=24), id="retention", executor=INTERNAL,
                               next_run_time=self.clock(), misfire_grace_time=3600)
        if self.dispatcher is not None:
            every = self.settings.alerts.dispatch_interval
            assert isinstance(every, timedelta)
            self.scheduler.add_job(self.dispatcher.run_once, IntervalTrigger(seconds=every.total_seconds()),
                                   executor=INTERNAL,
                                   id="dispatcher", next_run_time=self.clock(),
                                   misfire_grace_time=max(1, int(every.total_seconds())))
        self.scheduler.start()
        if self.web:
            self._start_web()
        log.info("driftwatch running %d monitor(s) as %s", len(self.settings.monitors), self.runner.owner)

    def stop(self) -> bool:
        """Stop claiming, let running work finish within ``shutdown_grace``, stop the web server.
        Returns False when runs were still going at the end of the grace period."""
        self.runner.stopping.set()
        self.scheduler.pause()
        grace = self.settings.daemon.shutdown_grace
        assert isinstance(grace, timedelta)
        idle = self.runner.wait_idle(grace.total_seconds())
        if not idle:
            log.warning("shutdown: runs still going after %s; their leases will expire and be taken over", grace)
        self.scheduler.shutdown(wait=False)
        if self.dispatcher is not None:  # sends in flight finish; their rows are recorded
            self.dispatcher.close(wait=idle)
        if self._server is not None:
            self._server.stop()
        if idle:
            self.store.dispose()
        self.stopped.set()
        return idle

    def serve_forever(self, *, on_started: Callable[[], object] | None = None) -> int:
        """Run until SIGTERM or SIGINT (exit 0); SIGHUP reloads the config. ``on_started`` is
        called once everything runs (the CLI freezes start-up objects out of the GC there)."""
        noted = Signals(signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        self.start()
        if on_started is not None:
            on_started()
        while noted.next() == signal.SIGHUP:  # the handlers only note; the work happens here
            self.reload()
        log.info("shutting down")
        if not self.stop():
            # The pool's worker threads are joined at interpreter exit, so a run stuck past the
            # grace period would keep the process alive: leave now; its lease expires and
            # another process (or the next start) takes the window over.
            logging.shutdown()
            os._exit(0)
        return 0

    # -- jobs ------------------------------------------------------------------------------------
    def _add_monitor_jobs(self, settings: Settings) -> None:
        spread = settings.daemon.spread
        assert isinstance(spread, timedelta)
        for monitor in settings.monitors:
            period = monitor.schedule.period
            offset = start_offset(monitor.name, period, spread)
            if offset:  # the offset acts as extra delay: the trigger and the due windows both see it
                monitor = replace(monitor, schedule=replace(monitor.schedule, delay=monitor.schedule.delay + offset))
            self.scheduler.add_job(self.runner.tick, monitor.schedule.trigger(), args=[monitor],
                                   id=f"monitor:{monitor.name}", name=monitor.name,
                                   misfire_grace_time=max(1, int(period.total_seconds())),
                                   # catch up at once (within the spread), then on schedule
                                   next_run_time=self.clock() + offset)

    def _on_event(self, event: JobExecutionEvent) -> None:
        kind = {EVENT_JOB_ERROR: "error", EVENT_JOB_MISSED: "missed",
                EVENT_JOB_MAX_INSTANCES: "max_instances"}.get(event.code, str(event.code))
        self.events[kind] += 1
        if kind == "error":
            log.error("job %s raised: %s", event.job_id, getattr(event, "exception", None))
        else:
            log.warning("job %s: %s", event.job_id, kind)

    # -- reload ----------------------------------------------------------------------------------
    def _config_mtime(self) -> float | None:
        try:
            return self.config_path.stat().st_mtime
        except OSError:
            return None

    def _check_reload(self) -> None:
        mtime = self._config_mtime()
        if mtime != self._mtime:
            self._mtime = mtime
            self.reload()

    def reload(self) -> bool:
        """Load the config again; on success swap the monitor jobs, else keep the old config."""
        try:
            settings = load(self.config_path)
        except ConfigError as exc:
            log.error("reload: config is invalid, keeping the running one:\n%s", exc)
            return False
        for job in self.scheduler.get_jobs():
            if job.id.startswith("monitor:"):
                job.remove()
        for warning in settings.warnings:
            log.warning("config: %s", warning)
        self.settings = settings
        self.live.current = settings
        self.runner.settings = settings
        if self.dispatcher is not None:
            self.dispatcher.configure(settings.channels, settings.webhooks)
        self._add_monitor_jobs(settings)
        log.info("reload: %d monitor(s)", len(settings.monitors))
        return True

    # -- web -------------------------------------------------------------------------------------
    def _start_web(self) -> None:
        from .web import create_app
        from .web.server import WebServer

        dispatcher = self.dispatcher
        app = create_app(self.store, settings=cast(Settings, self.live),
                         scheduler_running=lambda: bool(self.scheduler.running) and not self.runner.stopping.is_set(),
                         outcomes=(lambda: dict(dispatcher.outcomes)) if dispatcher is not None else None,
                         clock=self.clock)
        self._server = WebServer(app, self.host, self.port)
        self._server.start()
