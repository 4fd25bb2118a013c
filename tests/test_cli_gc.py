"""``driftwatch run`` and ``serve`` freeze what start-up left alive out of the garbage collector,
so full collections (a 100+ ms pause under a web request) scan only what requests create."""

from __future__ import annotations

import gc

from driftwatch.cli.daemon import freeze_startup_objects


def test_startup_objects_are_moved_out_of_the_collectors_reach() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # the imported modules, at least
    finally:
        gc.unfreeze()
