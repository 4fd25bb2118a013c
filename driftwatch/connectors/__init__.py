"""Connectors read one data set each. They know nothing of detectors, storage or alerts.

A connector is a frozen dataclass whose fields are its config keys. ``BUILTIN`` lists the ones
shipped here; third parties register more under the ``driftwatch.connectors`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

import pandas as pd

from ..model import Window
from ..registry import Registry


@runtime_checkable
class Connector(Protocol):
    """Reads one data set, or the rows of it that fall in a window."""

    name: ClassVar[str]

    def fetch(self, window: Window | None, columns: Sequence[str] | None) -> pd.DataFrame:
        """Rows in ``window`` (all rows when None), only the named columns that exist
        (every column when ``columns`` is None)."""
        ...

    def version(self, window: Window | None) -> str:
        """A string that changes whenever the data ``fetch(window, ...)`` returns may change."""
        ...


from .file import FileConnector  # noqa: E402
from .sql import SqlConnector  # noqa: E402

BUILTIN: dict[str, type[Connector]] = {"file": FileConnector, "sql": SqlConnector}
REGISTRY: Registry[Connector] = Registry("driftwatch.connectors", BUILTIN, Connector)

__all__ = ["BUILTIN", "REGISTRY", "Connector", "FileConnector", "SqlConnector"]
