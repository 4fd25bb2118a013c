"""Models fitted on a reference profile, kept exactly as long as the profile is.

A reference's reconstruction or loss models are fitted once and reused by every window compared
with it. The cache is keyed by the profile object itself (held weakly), so a monitor with
twenty segments (twenty profiles) fits each once, not once per run as a small LRU would, and a
fit is dropped with its profile when the engine lets go of an old reference version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Concatenate, ParamSpec, TypeVar
from weakref import WeakKeyDictionary

from ..profiling import Profile

P = ParamSpec("P")
T = TypeVar("T")


def per_profile(fit: Callable[Concatenate[Profile, P], T]) -> Callable[Concatenate[Profile, P], T]:
    """``fit(reference, *args)`` computed once per (profile object, args)."""
    cache: WeakKeyDictionary[Profile, dict[tuple[Hashable, ...], T]] = WeakKeyDictionary()
    lock = threading.Lock()

    def cached(reference: Profile, /, *args: P.args, **kwargs: P.kwargs) -> T:
        key = (*args, *sorted(kwargs.items()))
        with lock:
            found = cache.get(reference, {})
            if key in found:
                return found[key]
        value = fit(reference, *args, **kwargs)
        with lock:
            cache.setdefault(reference, {})[key] = value
        return value

    cached.__doc__, cached.__name__ = fit.__doc__, fit.__name__
    return cached
