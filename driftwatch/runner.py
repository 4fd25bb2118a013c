"""Running one monitor's windows under a claim: the ``Runner`` and the lease ``Heartbeat``.

A window is claimed by inserting its ``runs`` row (the unique constraint picks one winner among
processes on one database), and a claim carries a lease renewed every ``lease / 3``, so a window
left ``running`` by a killed process is taken over once its lease expires (R26, R27). When the
store stops answering, ``Runner.tick`` says so once and once more when it answers again, and
the windows due meanwhile are caught up.

Split from ``scheduler`` because claiming and running a window is a job of its own, used without
any scheduler: ``driftwatch backfill`` runs past windows through a ``Runner`` and loads no
APScheduler. The daemon's jobs call ``Runner.tick``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import OperationalError

from .alerts.evaluate import AlertContext
from .config import MonitorSettings, Settings
from .engine import RunOutcome, default_owner, execute_run, store_reason
from .model import Window
from .store import Store

__all__ = ["RETENTION", "Heartbeat", "Runner", "utcnow"]

#: The daemon's logger: these lines are the daemon's to operators, as they were before the split.
log = logging.getLogger("driftwatch.scheduler")

#: The pseudo-monitor whose daily ``runs`` row makes retention a singleton across replicas.
RETENTION = "__retention__"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
