"""``[daemon]`` and ``[web]``: how the long-running process behaves and where it listens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from ..secrets import Secret
from ..timeutil import parse_duration


def _duration(value: object, key: str, *, allow_none: bool = False, allow_zero: bool = False) -> timedelta | None:
    if value is None and allow_none:
        return None
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{key}: must be a duration string such as 30s or 5m, got {value!r}")
    try:
        return parse_duration(value, allow_zero=allow_zero)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


@dataclass(frozen=True)
class DaemonSettings:
    """``[daemon]``.

    ``lease``: how long a claimed run stays ours without a heartbeat (renewed every lease/3); a
    run left ``running`` by a killed process is taken over after it. ``shutdown_grace``: how long
    SIGTERM waits for running work. ``retention``: results and runs older than this are deleted by
    a daily job (unset: kept forever). ``workers``: threads running monitors (default: one per
    monitor, at most 32). ``reload_check``: how often the config file is checked for changes.
``spread``: monitors due at the same instant start up to this long after it (at most a quarter of
their period), each at a fixed offset from a hash of its name, so hundreds of monitors on one
schedule do not queue behind each other; ``0s`` starts them all at once.

    >>> DaemonSettings(lease="10s").lease
    datetime.timedelta(seconds=10)
    """

    lease: timedelta | str = "5m"
    shutdown_grace: timedelta | str = "30s"
    retention: timedelta | str | None = None
    workers: int | None = None
    reload_check: timedelta | str = "5s"
    spread: timedelta | str = "15s"

    def __post_init__(self) -> None:
        object.__setattr__(self, "spread", _duration(self.spread, "spread", allow_zero=True))
        for key in ("lease", "shutdown_grace", "reload_check"):
            object.__setattr__(self, key, _duration(getattr(self, key), key))
        object.__setattr__(self, "retention", _duration(self.retention, "retention", allow_none=True))
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise ValueError(f"workers: must be an integer >= 1, got {self.workers!r}")


#: Shortest ``web.auth_token`` accepted (16 random characters are out of reach of guessing).
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class WebSettings:
    """``[web]``: where the pages, the API, ``/metrics`` and the health endpoints listen.

    ``auth_token`` (a secret, e.g. ``"${DRIFTWATCH_TOKEN}"``): when set, the API needs
    ``Authorization: Bearer <token>`` and the pages a login; changing silences always needs it.
    It must be at least ``MIN_TOKEN_LENGTH`` characters: the token's length is what makes
    guessing it hopeless, the failure limit below only slows a guesser down.
    ``protect_metrics``: also require the token for ``/metrics`` (``/healthz``/``/readyz`` stay open).
    ``session_ttl``: how long a login lasts; the session ends then, at ``/logout`` or when the
    token changes. ``auth_failure_limit`` wrong tokens (login form or bearer) per
    ``auth_failure_window`` from one client address, then ``429`` until it has waited; counted
    per process, so N replicas allow N times as many.

    >>> web = WebSettings(session_ttl="8h")
    >>> web.session_ttl, web.auth_failure_limit, web.auth_failure_window
    (datetime.timedelta(seconds=28800), 10, datetime.timedelta(seconds=60))
    """

    host: str = "127.0.0.1"
    port: int = 8080
    auth_token: Secret | None = field(default=None, repr=False)
    protect_metrics: bool = False
    session_ttl: timedelta | str = "12h"
    auth_failure_limit: int = 10
    auth_failure_window: timedelta | str = "1m"

    def __post_init__(self) -> None:
        if isinstance(self.auth_token, str):
            object.__setattr__(self, "auth_token", Secret(self.auth_token))
        if self.auth_token is not None and not self.auth_token.reveal():
            raise ValueError("auth_token: must not be empty (leave it out to turn authentication off)")
        if self.auth_token is not None and len(self.auth_token.reveal()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"auth_token: must be at least {MIN_TOKEN_LENGTH} characters, got "
                             f"{len(self.auth_token.reveal())} (make one with: python3 -c "
                             f"'import secrets; print(secrets.token_urlsafe(32))')")
        if not isinstance(self.protect_metrics, bool):
            raise ValueError(f"protect_metrics: must be true or false, got {self.protect_metrics!r}")
        if not isinstance(self.host, str) or not self.host:
            raise ValueError(f"host: must be a host name or address, got {self.host!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port: must be an integer in 0..65535, got {self.port!r}")
        for key in ("session_ttl", "auth_failure_window"):
            object.__setattr__(self, key, _duration(getattr(self, key), key))
        limit = self.auth_failure_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"auth_failure_limit: must be an integer >= 1, got {limit!r}")


@dataclass(frozen=True)
class MetricsSettings:
    """``[metrics]``: what ``/metrics`` exposes beyond the bounded default series (R31).

    ``per_feature``: also a ``driftwatch_drift_score{monitor,feature,metric}`` gauge per drifted
    figure, capped at ``feature_series_limit`` series (the worst kept), so a wide table cannot
    blow up the scrape.
    """

    per_feature: bool = False
    feature_series_limit: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.per_feature, bool):
            raise ValueError(f"per_feature: must be true or false, got {self.per_feature!r}")
        limit = self.feature_series_limit
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"feature_series_limit: must be an integer >= 1, got {limit!r}")
