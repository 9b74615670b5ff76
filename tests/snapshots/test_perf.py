"""The GC pause used while planning restores the collector's state."""

from __future__ import annotations

import gc

import pytest

from infra.perf import gc_paused


def test_gc_paused_disables_inside_and_restores_after() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_gc_paused_restores_after_an_error_and_keeps_a_disabled_gc_disabled() -> None:
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
