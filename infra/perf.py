"""Keeping offline planning linear in the number of pipelines.

The mock engine keeps every Output, future and task of a run alive until the run ends: a heap of
reference cycles that grows with the stack. Python's cyclic GC kept re-walking it, so each
pipeline cost more than the last (measured with `python -m bench.plan_scale`: 22 ms per pipeline
at 100 pipelines, 27 ms at 300, with the GC paused 13 ms at both). Nothing in a run becomes
garbage that needs the cycle collector before the run ends, so the collector is paused for the
run. It is not forced to collect afterwards: one full collection of a 1000-pipeline heap took
longer than planning 200 pipelines; the collector's own thresholds reclaim it later, and a CLI
process simply exits.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic GC inside the block; restore its previous state on the way out."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
