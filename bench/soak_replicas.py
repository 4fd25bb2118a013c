"""The ``driftwatch run`` processes under test: started, SIGKILLed, restarted, SIGTERMed.

Only process handling lives here (each replica's log in a file, exits nobody asked for noted);
when and whom to kill is the soak loop's business in ``soak.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DRIFTWATCH = str(Path(sys.executable).with_name("driftwatch"))


@dataclass
class Replica:
    index: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    restart_at: float | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None


class Replicas:
    """The ``driftwatch run`` processes: started, killed, restarted, stopped; logs in files."""

    def __init__(self, count: int, config: Path, folder: Path, say: Callable[[str], None]) -> None:
        self.config, self.say = config, say
        self.replicas = [Replica(i, folder / f"replica-{i}.log") for i in range(count)]
        self.unexpected_exits: list[str] = []
        self.exit_codes: dict[int, int | None] = {}
        # A DRIFTWATCH_<SECTION>__<KEY> in our environment would override the soak's config.
        self.env = {k: v for k, v in os.environ.items() if not (k.startswith("DRIFTWATCH_") and "__" in k)}

    def start(self, replica: Replica) -> None:
        with replica.log.open("ab") as log:
            replica.proc = subprocess.Popen([DRIFTWATCH, "run", "--config", str(self.config), "--no-web"],
                                            stdout=subprocess.DEVNULL, stderr=log, env=self.env,
                                            start_new_session=True)
        replica.restart_at = None

    def by_pid(self, pid: int) -> Replica | None:
        return next((r for r in self.replicas if r.pid == pid), None)

    def alive(self) -> list[Replica]:
        return [r for r in self.replicas if r.pid is not None]

    def kill(self, replica: Replica, restart_in: float) -> None:
        assert replica.proc is not None
        replica.proc.kill()
        replica.proc.wait()
        replica.restart_at = time.monotonic() + restart_in

    def poll(self) -> None:
        """Restart what is due; notice a replica that died on its own (and restart it)."""
        now = time.monotonic()
        for r in self.replicas:
            if r.restart_at is not None and now >= r.restart_at:
                self.start(r)
                self.say(f"restart replica {r.index} (pid {r.pid})")
            elif r.proc is not None and r.restart_at is None and r.proc.poll() is not None:
                self.unexpected_exits.append(f"replica {r.index} (pid {r.proc.pid}) exited {r.proc.returncode}")
                self.say(f"replica {r.index} exited on its own with {r.proc.returncode}; restarting")
                self.start(r)

    def terminate(self, grace: float) -> None:
        """SIGTERM every live replica at once (one killed a moment ago is started first), then wait."""
        for r in self.replicas:
            if r.restart_at is not None:
                self.start(r)
                time.sleep(3.0)  # let it get past start-up before it is asked to stop
        for r in self.replicas:
            if r.pid is not None:
                assert r.proc is not None
                r.proc.send_signal(signal.SIGTERM)
        for r in self.replicas:
            if r.proc is None:
                continue
            try:
                self.exit_codes[r.index] = r.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.exit_codes[r.index] = None
                r.proc.kill()
                r.proc.wait()

    def kill_all(self) -> None:
        """Last resort (an exception in the bench): no replica outlives it."""
        for r in self.replicas:
            if r.pid is not None:
                assert r.proc is not None
                r.proc.kill()
                r.proc.wait()
            r.restart_at = None
