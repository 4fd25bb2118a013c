"""driftwatch: watch ML models in production for drift, data quality and performance.

The public Python API is what ``__all__`` names; everything else may change.

Comments and tests cite the operational requirements by number (``R1`` to ``R40``);
``docs/requirements.md`` says what each one means and which tests prove it.

The names that need pandas and the statistics (``check``, ``profile``, ``Result`` ...) are
imported on first use, so that ``import driftwatch`` and the ``driftwatch`` command (which
imports this package before anything else) start in a fraction of the time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, ConnectorError, DataError, DeliveryError, DriftwatchError

if TYPE_CHECKING:
    from .api import check
    from .model import Finding, Result, Schema, Window
    from .profiling import Profile, profile
    from .results import Results

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ConnectorError",
    "DataError",
    "DeliveryError",
    "DriftwatchError",
    "Finding",
    "Profile",
    "Result",
    "Results",
    "Schema",
    "Window",
    "__version__",
    "check",
    "profile",
]

#: Each public name imported on first use, and the module that defines it.
_LAZY = {
    "check": "api",
    "Finding": "model",
    "Result": "model",
    "Schema": "model",
    "Window": "model",
    "Profile": "profiling",
    "profile": "profiling",
    "Results": "results",
}


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if not TYPE_CHECKING:  # mypy sees the imports above; a __getattr__ would make every name Any to it

    def __getattr__(name: str) -> Any:
        """PEP 562: import a public name's module when the name is first asked for."""
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value  # the next look-up is a plain attribute
        return value
