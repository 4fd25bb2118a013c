"""The soak's knobs: one frozen record that every part of the bench reads.

A module of its own so that the data, the receiver and the store can take a ``Soak`` without
importing ``bench/soak.py``: that file is the script, run as ``__main__``, and importing it again
under its own name would make a second copy of every class. The command line that fills the
record in stays in ``soak.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Soak:
    """One soak's knobs; ``parse_args`` fills them in from the command line."""

    store: str = "postgres"
    seconds: float = 600.0
    replicas: int = 3
    seed: int = 1
    window: int = 30
    lease: float = 12.0
    run: tuple[float, float] = (15.0, 22.5)
    kill_every: tuple[float, float] = (20.0, 60.0)
    restart_after: tuple[float, float] = (1.0, 5.0)
    receiver_delay: tuple[float, float] = (0.5, 2.5)
    receiver_errors: float = 0.05
    broken_share: float = 0.07
    rows: int = 400
    postgres_url: str = DEFAULT_POSTGRES
    keep: bool = False

    @property
    def settle(self) -> float:
        """Seconds before the end when kills stop: time for the last killed run's lease to expire,
        the next tick to take it over and its events to be sent."""
        return self.lease + self.window + 3.0


#: The short seeded variant (``--quick``, and ``tests/test_soak.py``): ~40 s of 6-second windows.
QUICK = {"seconds": 40.0, "window": 6, "lease": 4.0, "run": (2.5, 3.8), "kill_every": (6.0, 10.0),
         "restart_after": (0.5, 1.5), "receiver_delay": (0.3, 1.0), "receiver_errors": 0.0,
         "broken_share": 0.1, "rows": 300}
