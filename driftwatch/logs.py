"""Log setup: readable text by default, one JSON object per line with ``--log-format json``.

Records may carry ``monitor``, ``window`` and ``run_id`` (pass them in ``extra=``); both formats
show them, so a log line can be traced to its run. Secrets never reach a log: settings print as
``***`` and URLs are redacted before they are logged.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import TextIO

CONTEXT = ("monitor", "window", "run_id")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC ISO 8601), level, logger, message, context, error.

    >>> record = logging.LogRecord("driftwatch", logging.INFO, __file__, 1, "run %s done", (7,), None)
    >>> record.monitor = "credit"
    >>> line = json.loads(JsonFormatter().format(record))
    >>> line["message"], line["monitor"], line["level"]
    ('run 7 done', 'credit', 'info')
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: message [monitor=… window=… run_id=…]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT if hasattr(record, k))
        return f"{text} [{context}]" if context else text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (it may be replaced, e.g.
    by a test runner's capture), never to a stream closed since setup."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def setup(level: int, fmt: str = "text") -> None:
    """Send the ``driftwatch`` loggers' records to stderr in ``fmt`` ("text" or "json").

    Only our own loggers are touched (calling this twice replaces the handler it added), so an
    embedding application's or a test runner's logging stays as it was.
    """
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.set_name("driftwatch-cli")
    # The libraries the daemon runs on log through the same handler, so --log-format json means
    # every line; their INFO chatter (a line per job start) stays below WARNING.
    for name, floor in (("driftwatch", level), ("apscheduler", max(level, logging.WARNING)),
                        ("uvicorn", max(level, logging.WARNING)), ("alembic", max(level, logging.WARNING))):
        logger = logging.getLogger(name)
        logger.handlers[:] = [h for h in logger.handlers if h.get_name() != "driftwatch-cli"] + [handler]
        logger.setLevel(floor)
        logger.propagate = name == "driftwatch"
