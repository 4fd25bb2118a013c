"""driftwatch: watch ML models in production for drift, data quality and performance.

The public Python API is what ``__all__`` names; everything else may change.
"""

from __future__ import annotations

from .api import check
from .errors import ConfigError, ConnectorError, DataError, DeliveryError, DriftwatchError
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
