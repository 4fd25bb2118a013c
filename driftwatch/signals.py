"""Signals a long-running command acts on, noted by handlers that do nothing else.

A Python signal handler runs in the main thread between any two bytecodes, so it must not take
a lock the interrupted code may hold. Setting a ``threading.Event`` from it does: ``Event.wait``
holds the event's own (non-reentrant) lock for a moment on entry, and a SIGTERM landing there
deadlocks the main thread while the worker threads go on running windows — a daemon that ignores
its stop signal (seen once in CI, right after start). So the handlers here only append the
signal number to a deque (atomic, no lock), and the main loop, in ``next``, does the work: stop,
or reload the config. The loop wakes at once, not at its next poll: Python's C-level handler
also writes the signal to a pipe (``signal.set_wakeup_fd``) the loop waits on, so a stop claims
no further window in the meantime.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections import deque
from types import FrameType

__all__ = ["Signals"]

#: The longest the loop waits between looks when it cannot be woken by the pipe (not the main
#: thread): then also the latency of a stop.
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
        self._wake, write = os.pipe()
        os.set_blocking(self._wake, False)
        os.set_blocking(write, False)
        try:
            self._previous_fd: int | None = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        except ValueError:  # not the main thread: the loop polls instead
            self._previous_fd = None
        self._write = write

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self._noted.append(signum)  # nothing else: see the module docstring

    def next(self, *, poll: float = POLL_SECONDS, timeout: float | None = None) -> int | None:
        """The oldest noted signal, waiting for one; None when ``timeout`` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._noted:
            left = poll if deadline is None else min(poll, deadline - time.monotonic())
            if left <= 0:
                return None
            # The pipe is written the moment a signal arrives; by the time select returns, the
            # Python handler has run (it runs before an interrupted call is retried).
            if select.select([self._wake], [], [], left)[0]:
                try:
                    os.read(self._wake, 512)
                except BlockingIOError:  # pragma: no cover - select said there was something
                    pass
        return self._noted.popleft()

    def restore(self) -> None:
        """Put the handlers and the wakeup pipe that were there before back."""
        if self._previous_fd is not None:
            signal.set_wakeup_fd(self._previous_fd)
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        os.close(self._wake)
        os.close(self._write)
