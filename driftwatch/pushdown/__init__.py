"""Profile a window where it lives: the figures the detectors need, computed by the database.

``sql`` builds the statements (SQLAlchemy Core, every value bound), ``window`` runs them and
returns the same ``ColumnProfile``s ``profiling`` makes from a pandas frame.
"""

from __future__ import annotations

from ..errors import ConnectorError
from .sql import Source
from .window import DEFAULT_MAX_SORTED, profile_window

__all__ = ["DEFAULT_MAX_SORTED", "MODES", "PushdownUnavailable", "Source", "profile_window"]

#: A connector's ``pushdown``: ``prefer`` profiles in the database when it can and pulls (with a
#: log line saying why) when it cannot; ``require`` fails the run instead; ``off`` always pulls.
MODES: tuple[str, ...] = ("prefer", "require", "off")


class PushdownUnavailable(ConnectorError):
    """This window cannot be profiled in its database (the message says why). ``quiet``: an
    expected choice (small files), logged at DEBUG rather than INFO."""

    def __init__(self, message: str, *, quiet: bool = False) -> None:
        super().__init__(message)
        self.quiet = quiet
