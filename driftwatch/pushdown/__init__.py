"""Profile a window where it lives: the figures the detectors need, computed by the database.

``sql`` builds the statements (SQLAlchemy Core, every value bound), ``window`` runs them and
returns the same ``ColumnProfile``s ``profiling`` makes from a pandas frame.
"""

from __future__ import annotations

from .sql import Source
from .window import DEFAULT_MAX_SORTED, profile_window

__all__ = ["DEFAULT_MAX_SORTED", "Source", "profile_window"]
