"""Keeping offline planning linear in the number of pipelines, and its heap out of the collector.

The mock engine keeps every Output, future and task of a run alive until the run ends: a heap of
reference cycles that grows with the stack. Python's cyclic GC kept re-walking it, so each
pipeline cost more than the last (measured with `python -m bench.plan_scale`: 22 ms per pipeline
at 100 pipelines, 27 ms at 300, with the GC paused 13 ms at both). Nothing in a run becomes
garbage that needs the cycle collector before the run ends, so the collector is paused for the
run.

When the pause ends, re-enabling the collector alone is not enough: the objects allocated during
the pause still count towards generation 0, so the very next allocation triggers a collection,
which cascades into a full collection of the whole heap (5-6 s, a fifth of the CLI's time, at 1000
pipelines). So the heap is frozen first (`gc.freeze()`): every object alive at that
point moves to the permanent generation, which the collector never scans. The price: cycles in
that heap are never reclaimed by the collector unless `gc.unfreeze()` is called; a CLI process
exits right after, and a long-lived process that plans repeatedly (the test suite) keeps at most
the heaps of the plans it made.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic GC inside the block; on the way out, freeze the heap, then restore.

    The collector's previous state (enabled or not) is restored. The heap is frozen even after an
    error, since what was allocated is the same either way.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
