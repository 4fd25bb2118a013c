"""driftwatch: watch ML models in production for drift, data quality and performance."""

from __future__ import annotations

__version__ = "0.1.0"

