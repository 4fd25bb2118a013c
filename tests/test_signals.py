"""``driftwatch.signals``: a signal is noted without a lock and taken by the main loop.

The daemon once set a ``threading.Event`` from its SIGTERM handler; a SIGTERM that landed while
the main thread held that event's lock (entering ``Event.wait``) deadlocked it, and the daemon
ran on, ignoring the signal. Here the signal lands while this thread holds a non-reentrant lock,
as it did then: the handler must neither block nor need it, and the loop must be woken at once.
"""

from __future__ import annotations

import os
import select
import signal
import threading

from driftwatch.signals import Signals


def test_a_signal_landing_while_a_lock_is_held_is_noted_and_taken_later() -> None:
    before = signal.getsignal(signal.SIGUSR1)
    noted = Signals(signal.SIGUSR1, signal.SIGUSR2)
    try:
        held = threading.Lock()
        with held:  # what Event.wait holds for a moment on entry
            os.kill(os.getpid(), signal.SIGUSR2)  # the handler runs in this thread, here
            os.kill(os.getpid(), signal.SIGUSR1)
        assert select.select([noted._wake], [], [], 0)[0], "the signal wakes the loop through its pipe at once"
        assert [noted.next(poll=0.01), noted.next(poll=0.01)] == [signal.SIGUSR2, signal.SIGUSR1]  # in order
        assert noted.next(poll=0.01, timeout=0.05) is None
    finally:
        noted.restore()
    assert signal.getsignal(signal.SIGUSR1) is before
