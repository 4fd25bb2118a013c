"""The exceptions driftwatch raises on purpose.

Each one carries a message that already names where the problem is (file, key path, column),
so the CLI can print it as one line and exit 2 without a traceback.
"""

from __future__ import annotations


class DriftwatchError(Exception):
    """Base class of every error driftwatch raises on purpose."""


class ConfigError(DriftwatchError):
    """The configuration is invalid. ``problems`` lists every problem found, one line each."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class DataError(DriftwatchError):
    """Data could be read but is unusable (missing column, wrong type, unreadable file)."""


class ConnectorError(DriftwatchError):
    """A connector could not read its source (missing file, unreachable database)."""


class StoreError(DriftwatchError):
    """The results store could not be reached or written (the URL shown without password)."""


class DeliveryError(DriftwatchError):
    """A channel could not deliver a message.

    ``retry_after``: the peer asked us to wait this many seconds (HTTP 429, Retry-After).
    ``permanent``: no retry can help (bad token, unknown channel, 410 Gone): the message goes
    straight to ``dead``. ``status``: the peer's answer (``"500"``, ``"550"``), for the attempt log.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False,
                 status: str | None = None) -> None:
        self.retry_after = retry_after
        self.permanent = permanent
        self.status = status
        super().__init__(message)
