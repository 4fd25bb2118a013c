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
from sqlalchemy.exc import OperationalError

from .alerts.dispatcher import Dispatcher
from .alerts.evaluate import AlertContext
from .config import MonitorSettings, Settings, load
from .config.live import LiveSettings
from .engine import RunOutcome, default_owner, execute_run, store_reason
from .errors import ConfigError
from .model import Window
from .store import Store

if TYPE_CHECKING:
    from .web.server import WebServer

log = logging.getLogger("driftwatch.scheduler")

#: The pseudo-monitor whose daily ``runs`` row makes retention a singleton across replicas.
RETENTION = "__retention__"
#: The executor of the daemon's own jobs, apart from the monitors' pool.
INTERNAL = "internal"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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


class Heartbeat:
    """Renews a run's lease every ``lease / 3`` until stopped; logs if the claim was lost."""

    def __init__(self, store: Store, run_id: int, owner: str, lease: timedelta) -> None:
        self._store, self._run_id, self._owner, self._lease = store, run_id, owner, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        failing = False
        while not self._stop.wait(self._lease.total_seconds() / 3):
            try:
                if not self._store.renew_lease(self._run_id, owner=self._owner, lease=self._lease):
                    self._say_why_lost()
                    return
            except OperationalError as exc:  # the store is away: say it once, try again at the next beat
                if not failing:
                    log.warning("run %s: lease renewal failed (%s); retrying every beat, quietly", self._run_id,
                                store_reason(exc))
                failing = True
                continue
            except Exception:
                log.warning("run %s: lease renewal failed", self._run_id, exc_info=True)
                continue
            if failing:
                log.info("run %s: lease renewed again", self._run_id)
                failing = False


    def _say_why_lost(self) -> None:
        """A renewal that finds the run no longer ours: a warning if another process has it, and
        nothing if this process finished it (the beat can fire between the run's commit and
        the heartbeat's stop)."""
        run = self._store.run(self._run_id)
        if run is not None and run.owner == self._owner:
            return
        log.warning("run %s: lease lost to another process%s", self._run_id,
                    f" ({run.owner})" if run is not None else "")


class Runner:
    """Claims and runs the due windows of monitors; used by the scheduler jobs and backfill."""

    def __init__(self, store: Store, settings: Settings, *, owner: str | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.settings = settings
        self.owner = owner or default_owner()
        self.clock = clock
        self.stopping = threading.Event()
        self._active = 0
        self._idle = threading.Condition()
        #: Since when the store has not answered the monitor jobs (None: it answers).
        self._store_down: datetime | None = None
        self._store_lock = threading.Lock()

    @property
    def alerts(self) -> AlertContext:
        """What alert evaluation needs of the current settings (they change on reload)."""
        return AlertContext(self.settings.alerts, self.settings.webhooks)

    @property
    def lease(self) -> timedelta:
        lease = self.settings.daemon.lease
        assert isinstance(lease, timedelta)
        return lease

    def run_window(self, monitor: MonitorSettings, window: Window, *, retry: bool = False,
                   alerts: bool = True) -> RunOutcome | None:
        """Claim ``window`` (or take over an expired claim) and run it; None if someone else has it.
        ``retry`` (backfill) also claims a window whose last run failed or was skipped.
        ``alerts=False`` (backfill of past windows) stores results without moving alert states
        or notifying anyone: old windows must not page anyone or undo today's state."""
        run_id = self.store.claim_run(monitor.name, window, owner=self.owner, lease=self.lease, retry=retry)
        if run_id is None:
            return None
        with self._idle:
            self._active += 1
        try:
            with Heartbeat(self.store, run_id, self.owner, self.lease):
                outcome = execute_run(monitor, window, run_id, store=self.store, options=self.settings.profile,
                                      now=self.clock(), owner=self.owner,
                                      alerts=self.alerts if alerts else None)
            log.info("monitor %s window %s run %s %s", monitor.name, window, run_id, outcome.status,
                     extra={"monitor": monitor.name, "window": str(window), "run_id": run_id})
            return outcome
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def tick(self, monitor: MonitorSettings) -> list[RunOutcome]:
        """Run what is due for ``monitor``: windows whose claims expired, then the missed and the
        latest windows oldest first (at most ``max_catchup``; older ones are recorded skipped).
        While the store does not answer, nothing is due: the next tick after it does catches up."""
        if self.stopping.is_set():
            return []
        try:
            outcomes = self._tick(monitor)
        except OperationalError as exc:
            self._store_state(exc)
            return []
        self._store_state(None)
        return outcomes

    def _store_state(self, exc: OperationalError | None) -> None:
        """One line when the store stops answering the monitor jobs, one when it answers again."""
        with self._store_lock:
            if exc is not None and self._store_down is None:
                self._store_down = self.clock()
                log.error("monitors: the store does not answer (%s); their windows wait and are caught up "
                          "when it does, quietly until then", store_reason(exc))
            elif exc is None and self._store_down is not None:
                log.warning("monitors: the store answers again (it did not for %s); catching up",
                            self.clock() - self._store_down)
                self._store_down = None

    def _tick(self, monitor: MonitorSettings) -> list[RunOutcome]:
        now = self.clock()
        outcomes: list[RunOutcome] = []
        for window in self.store.expired_windows(monitor.name):
            if self.stopping.is_set():
                return outcomes
            done = self.run_window(monitor, window)
            if done is not None:
                outcomes.append(done)
        due, skipped = monitor.schedule.due_windows(self.store.last_window_end(monitor.name), now,
                                                    monitor.max_catchup)
        for window in skipped:
            self.store.skip_run(monitor.name, window, owner=self.owner,
                                reason=f"more than max_catchup={monitor.max_catchup} windows behind")
        for window in due:
            if self.stopping.is_set():
                break
            done = self.run_window(monitor, window)
            if done is not None:
                outcomes.append(done)
        return outcomes

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no run is in progress; False if ``timeout`` seconds passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout=timeout)

    def retention(self) -> dict[str, int] | None:
        """Delete results and runs older than ``daemon.retention``; one replica per day does it."""
        keep = self.settings.daemon.retention
        if not isinstance(keep, timedelta):
            return None
        now = self.clock()
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        window = Window(day, day + timedelta(days=1))
        run_id = self.store.claim_run(RETENTION, window, owner=self.owner, lease=self.lease)
        if run_id is None:
            return None
        deleted = self.store.delete_older_than(now - keep)
        self.store.finish_run(run_id, [], rows_reference=None, rows_current=sum(deleted.values()), owner=self.owner)
        log.info("retention: deleted %s", deleted)
        return deleted


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
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self.reload())
        self.start()
        if on_started is not None:
            on_started()
        stop.wait()
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
