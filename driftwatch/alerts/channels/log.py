"""The log channel: a notification as log lines, with no account anywhere.

It is the demo's default channel, so ``driftwatch demo`` shows alerts before anyone has set up
Slack or SMTP, and a handy second route in production: every notification also lands in the
daemon's log (JSON with ``--log-format json``) next to the run that caused it. Records carry
``monitor`` and ``run_id`` as extras, which both log formats print.

>>> from driftwatch.alerts.message import Item, Message
>>> from driftwatch.model import Window
>>> from datetime import datetime
>>> m = Message(monitor="churn", run_id=7, window=Window(datetime(2026, 11, 1, 9), datetime(2026, 11, 1, 10)),
...             status="firing", reason="first notification", items=(Item("drift", "age", "psi", "alert", "new"),))
>>> LogChannel(level="info").send(m).status
'logged'
>>> LogChannel(level="loud")
Traceback (most recent call last):
...
ValueError: level: must be one of debug, info, warning, error, got 'loud'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from ..message import Message
from . import Delivery

__all__ = ["LEVELS", "LogChannel"]

#: Values of ``level`` and the logging level each one means.
LEVELS: dict[str, int] = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
                          "error": logging.ERROR}


@dataclass(frozen=True)
class LogChannel:
    """Logs ``message.text()`` at ``level`` on the logger named ``logger``.

    Warning by default: a firing alert is something an operator should see at the usual log
    level, yet it is not an error of driftwatch itself.
    """

    name: ClassVar[str] = "log"

    level: str = "warning"
    logger: str = "driftwatch.alerts"

    def __post_init__(self) -> None:
        if not isinstance(self.level, str) or self.level.lower() not in LEVELS:
            raise ValueError(f"level: must be one of {', '.join(LEVELS)}, got {self.level!r}")
        if not isinstance(self.logger, str) or not self.logger.strip():
            raise ValueError(f"logger: must be a non-empty logger name, got {self.logger!r}")

    def send(self, message: Message) -> Delivery:
        """Log the message once; logging cannot fail in a way a retry would fix, so this never raises."""
        text = message.text()
        logging.getLogger(self.logger).log(LEVELS[self.level.lower()], text,
                                           extra={"monitor": message.monitor, "run_id": message.run_id})
        return Delivery(status="logged", request=text)
