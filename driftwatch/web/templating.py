"""The one Jinja2 environment every page and exported report is drawn with, and its filters.

The run page, ``driftwatch report``'s file and a notebook's ``Results`` render the same
templates through this environment, so a report reads the same wherever it is opened.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined

from .. import __version__
from .charts import fmt_value

__all__ = ["ago", "environment", "when"]


def when(moment: datetime | None) -> str:
    """A UTC timestamp to the minute (seconds when not on a minute)."""
    if moment is None:
        return "–"
    return moment.strftime("%Y-%m-%d %H:%M" if moment.second == 0 else "%Y-%m-%d %H:%M:%S")


def ago(moment: datetime | None, now: datetime) -> str:
    """How long before ``now`` (``3 h ago``), or ``in 2 d`` for the future."""
    if moment is None:
        return ""
    seconds = (now - moment).total_seconds()
    size = abs(seconds)
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if size >= length:
            text = f"{int(size // length)} {unit}"
            break
    else:
        text = f"{int(size)} s"
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def environment() -> Environment:
    """The template environment: autoescape on for every template, undefined names are errors."""
    env = Environment(loader=PackageLoader("driftwatch.web", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt_value
    env.filters["when"] = when
    env.filters["q"] = lambda value: quote(str(value), safe="")
    env.globals["version"] = __version__
    return env
