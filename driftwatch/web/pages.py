"""The server-rendered pages: ``/``, ``/monitors/{name}``, ``/runs/{id}`` (filled in by the pages work)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter

if TYPE_CHECKING:
    from ..config import Settings
    from ..store import Store


def router(store: Store, settings: Settings | None, *, clock: Callable[[], datetime]) -> APIRouter:
    """The pages' routes over ``store``; the app mounts them behind the page login."""
    return APIRouter()
