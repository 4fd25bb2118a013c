"""Signals a long-running command acts on, noted by handlers that do nothing else.

A Python signal handler runs in the main thread between any two bytecodes, so it must not take
a lock the interrupted code may hold. Setting a ``threading.Event`` from it does: ``Event.wait``
holds the event's own (non-reentrant) lock for a moment on entry, and a SIGTERM landing there
deadlocks the main thread while the worker threads go on running windows — a daemon that ignores
its stop signal (seen once in CI, right after start). So the handlers here only append the
signal number to a deque (atomic, no lock), and the main loop, in ``next``, does the work: stop,
or reload the config.
"""

from __future__ import annotations

import signal
import time
from collections import deque
from types import FrameType

__all__ = ["POLL_SECONDS", "Signals"]

#: How often the main loop looks for a noted signal: the latency of a stop or a reload.
POLL_SECONDS = 0.2


class Signals:
    """Notes ``signums`` as they arrive (replacing their handlers) for the main loop to take.

    >>> import os
    >>> noted = Signals(signal.SIGUSR1)
    >>> os.kill(os.getpid(), signal.SIGUSR1)
    >>> noted.next(poll=0.01) == signal.SIGUSR1
    True
    >>> noted.restore()
    """

    def __init__(self, *signums: int) -> None:
        self._noted: deque[int] = deque()
        self._previous = {signum: signal.signal(signum, self._note) for signum in signums}

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self._noted.append(signum)  # nothing else: see the module docstring

    def next(self, *, poll: float = POLL_SECONDS, timeout: float | None = None) -> int | None:
        """The oldest noted signal, waiting for one; None when ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._noted:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(poll)  # a signal cuts the sleep short; the handler has run by then
        return self._noted.popleft()

    def restore(self) -> None:
        """Put the handlers that were there before back."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
