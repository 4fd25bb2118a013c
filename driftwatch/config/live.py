"""``LiveSettings``: the settings of a process whose config reloads, for the parts that read them
on every use (the web app's monitor lists, ``/metrics``) rather than once at start.

The daemon swaps ``current`` on a successful reload; every attribute read goes to the settings
of that moment, so a monitor removed by a reload leaves the pages and ``/metrics`` at once.
Values read once at start (the web address, the auth token) need a restart to change.

>>> from pathlib import Path
>>> from driftwatch.config.settings import Settings, StoreSettings
>>> from driftwatch.profiling import ProfileOptions
>>> from driftwatch.secrets import Secret
>>> first = Settings(Path("a.toml"), StoreSettings(Secret("sqlite://")), ProfileOptions())
>>> live = LiveSettings(first)
>>> live.path.name
'a.toml'
>>> live.current = Settings(Path("b.toml"), StoreSettings(Secret("sqlite://")), ProfileOptions())
>>> live.path.name
'b.toml'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .settings import Settings


class LiveSettings:
    """Forwards every attribute to ``current``, which the owner replaces on reload."""

    def __init__(self, settings: Settings) -> None:
        self.current = settings

    def __getattr__(self, name: str) -> Any:
        return getattr(self.current, name)
