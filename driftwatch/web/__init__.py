"""The web side: health endpoints now; pages and the JSON API read the store only."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
