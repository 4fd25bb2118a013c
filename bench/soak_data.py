"""What the replicas are given to read: seeded window folders that drift and come back (now and
then one that cannot be parsed), the FIFO gates that hold each run past its lease, and the config
that points the two monitors at them.

Apart from the loop that kills replicas because this is the plan (``Data.plan``: which window
drifts, which must fail) that the report later holds the stored runs against; it knows nothing
of processes or of the store. ``epoch_floor`` is here too: the window arithmetic every part shares.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from soak_settings import Soak

UTC = timezone.utc
MONITORS = ("soak-a", "soak-b")
COLUMNS = ("x", "y", "c")
CATEGORIES = ("a", "b", "c", "d")


def phases(seed: int, monitor: str, count: int, broken_share: float) -> list[str]:
    """``clean``/``drift``/``broken`` for ``count`` windows: alternating stretches of 1-3 windows,
    clean first, a few windows broken (never the first, never two in a row)."""
    rng = random.Random(f"{seed}:{monitor}")
    out: list[str] = []
    kind = "clean"
    while len(out) < count:
        out += [kind] * rng.randint(1, 3)
        kind = "drift" if kind == "clean" else "clean"
    out = out[:count]
    for i in range(1, count):
        if out[i - 1] != "broken" and rng.random() < broken_share:
            out[i] = "broken"
    return out


def frame(rng: np.random.Generator, rows: int, drift: bool) -> pd.DataFrame:
    """Clean rows follow the reference; drifting ones move every column (a data-set drift)."""
    shift = 1.0 if drift else 0.0
    shares = [0.1, 0.2, 0.3, 0.4] if drift else [0.4, 0.3, 0.2, 0.1]
    return pd.DataFrame({"x": rng.normal(shift, 1.0, rows).round(4), "y": rng.exponential(1.0 + shift, rows).round(4),
                         "c": rng.choice(CATEGORIES, rows, p=shares)})


@dataclass
class Data:
    """The data folders of every window the soak may read, and the plan of each."""

    folder: Path
    window: int
    plan: dict[tuple[str, datetime], str] = field(default_factory=dict)  # (monitor, window start) -> phase
    gates: list[tuple[str, datetime, Path]] = field(default_factory=list)

    def path(self, monitor: str) -> str:
        return str(self.folder / monitor / "{start:%Y%m%dT%H%M%S}")


def write_data(folder: Path, soak: Soak, first: datetime, last: datetime) -> Data:
    """A reference per monitor and a folder for every window starting in ``[first, last]``."""
    data = Data(folder, soak.window)
    step_ = timedelta(seconds=soak.window)
    count = int((last - first) / step_) + 1
    for m, monitor in enumerate(MONITORS):
        base = folder / monitor
        base.mkdir(parents=True)
        frame(np.random.default_rng([soak.seed, m, 0]), 2000, drift=False).to_csv(base / "reference.csv", index=False)
        for k, phase in enumerate(phases(soak.seed, monitor, count, soak.broken_share)):
            start = first + k * step_
            here = base / f"{start:%Y%m%dT%H%M%S}"
            here.mkdir()
            if phase == "broken":  # an unterminated quote: the connector fails, the run fails
                (here / "rows.csv").write_text('x,y,c\n1,2,"unterminated\n', encoding="utf-8")
            else:
                rng = np.random.default_rng([soak.seed, m, k + 1])
                frame(rng, soak.rows, drift=phase == "drift").to_csv(here / "rows.csv", index=False)
            gate = here / "aa-gate.csv"  # read first (files are read in name order)
            os.mkfifo(gate)
            data.plan[(monitor, start)] = phase
            data.gates.append((monitor, start, gate))
    return data


class Gates(threading.Thread):
    """Holds every reader of a window's FIFO gate for a seeded time, then gives it a header.

    A reader is noticed by opening the FIFO for writing without blocking (ENXIO while nobody
    reads). A reader killed while held leaves a broken pipe, which is ignored; the next reader
    (the replica that takes the run over) is held again.
    """

    def __init__(self, data: Data, soak: Soak) -> None:
        super().__init__(name="soak-gates", daemon=True)
        self.data = data
        self.stop = threading.Event()
        #: How long a reader is held, LOW-HIGH seconds; (0, 0) once kills are over, so the replicas
        #: catch up at once and the soak can stop at a quiet moment.
        self.hold = soak.run
        self.served = 0
        self.broken = 0
        self._held: dict[Path, tuple[int, float]] = {}
        self._rng = random.Random(f"{soak.seed}:gates")

    def run(self) -> None:
        header = (",".join(COLUMNS) + "\n").encode()
        while not self.stop.wait(0.05):
            now = time.monotonic()
            wall = datetime.now(UTC)
            for _, start, gate in self.data.gates:
                held = self._held.get(gate)
                if held is not None:
                    fd, until = held
                    if now >= until:
                        del self._held[gate]
                        # A fresh FIFO takes the path before this reader is let go, so the next
                        # reader (a take-over) waits for its own turn, and this one, still open,
                        # can never be mistaken for a new reader.
                        fresh = gate.with_name(".aa-gate.tmp")
                        os.mkfifo(fresh)
                        os.replace(fresh, gate)
                        try:
                            os.write(fd, header)
                            self.served += 1
                        except OSError:  # the reader was killed while held
                            self.broken += 1
                        finally:
                            os.close(fd)
                    continue
                if start > wall:
                    continue
                try:
                    fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:  # ENXIO: no reader now
                    continue
                os.set_blocking(fd, True)
                self._held[gate] = (fd, now + self._rng.uniform(*self.hold))
        for fd, _ in self._held.values():
            os.close(fd)


def write_config(folder: Path, soak: Soak, url: str, data: Data, hook: str, secret: str) -> Path:
    q = json.dumps  # a JSON string is a TOML basic string
    timeout = min(5.0, soak.lease / 2)
    lines = ["[store]", f"url = {q(url)}", "", "[daemon]", f'lease = "{soak.lease:g}s"', 'shutdown_grace = "20s"',
             "", "[alerts]", 'dispatch_interval = "1s"', "", "[webhooks.soak]", f"url = {q(hook)}",
             f"secret = {q(secret)}", f"timeout = {timeout:g}", ""]
    for monitor in MONITORS:
        lines += ["[[monitors]]", f"name = {q(monitor)}", f'window = "{soak.window}s"',
                  "[monitors.schema]", 'numeric = ["x", "y"]', 'categorical = ["c"]',
                  "[monitors.current]", 'type = "file"', f"path = {q(data.path(monitor))}",
                  "[monitors.reference]", 'type = "file"', f"path = {q(str(data.folder / monitor / 'reference.csv'))}"]
        if monitor == "soak-b":  # two runs to fire, two to resolve, retrain on the second breach
            lines += ["[monitors.alerts]", "for_runs = 2", "keep_firing_runs = 2",
                      "[monitors.retrain]", 'on = ["drift.drift_share"]', "for_runs = 2"]
        else:
            lines += ["[monitors.retrain]", 'on = ["drift.drift_share"]', "for_runs = 1"]
        lines.append("")
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def epoch_floor(moment: datetime, period: timedelta) -> datetime:
    """The latest multiple of ``period`` since the epoch at or before ``moment`` (windows align so
    when the period divides a day)."""
    seconds = period.total_seconds()
    return datetime.fromtimestamp(math.floor(moment.timestamp() / seconds) * seconds, UTC)
