"""The harness costs taken out of the offline plan: GC pause + freeze, stack capture, teardown."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from pulumi.runtime import resource as sdk_resource

from devtools import offline
from devtools.offline import STACK_TRACE_SDK_VERSION, StackTraceHookMoved, without_stack_traces
from devtools.perf import gc_paused
from tests.paths import ROOT


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


def test_gc_paused_freezes_what_the_block_allocated_instead_of_collecting_it() -> None:
    before = gc.get_freeze_count()
    try:
        with gc_paused():
            kept = [[i] for i in range(5000)]  # 5001 tracked containers
        assert gc.get_freeze_count() >= before + 5001
        assert gc.get_count()[0] < 100  # generation 0 starts empty: no collection is due
        assert len(kept) == 5000
    finally:
        gc.unfreeze()


def test_stack_capture_is_skipped_inside_and_restored_after() -> None:
    original = sdk_resource._get_stack_trace
    with without_stack_traces():
        assert len(sdk_resource._get_stack_trace().frames) == 0
    assert sdk_resource._get_stack_trace is original


def _fake_sdk(*, hook: bool, called_by_callers: bool) -> types.SimpleNamespace:
    def register_resource() -> None:
        _get_stack_trace()  # type: ignore[name-defined]  # noqa: F821 (only its name is read)

    def read_resource() -> None:
        _get_stack_trace()  # type: ignore[name-defined]  # noqa: F821

    def unrelated() -> None:
        pass

    module = types.SimpleNamespace(
        register_resource=register_resource if called_by_callers else unrelated,
        read_resource=read_resource,
    )
    if hook:
        module._get_stack_trace = lambda: "frames"
    return module


def test_the_guard_trips_when_the_hook_is_absent() -> None:
    module = _fake_sdk(hook=False, called_by_callers=True)
    with (
        pytest.raises(StackTraceHookMoved, match="_get_stack_trace is gone"),
        without_stack_traces(module, STACK_TRACE_SDK_VERSION),
    ):
        pass
    assert not hasattr(module, "_get_stack_trace")


def test_the_guard_trips_when_registration_no_longer_calls_the_hook() -> None:
    module = _fake_sdk(hook=True, called_by_callers=False)
    with (
        pytest.raises(StackTraceHookMoved, match="no longer called by register_resource"),
        without_stack_traces(module, STACK_TRACE_SDK_VERSION),
    ):
        pass
    assert module._get_stack_trace() == "frames"


def test_the_guard_trips_on_another_sdk_version() -> None:
    module = _fake_sdk(hook=True, called_by_callers=True)
    with (
        pytest.raises(StackTraceHookMoved, match=r"pulumi 3\.999\.0 is installed"),
        without_stack_traces(module, "3.999.0"),
    ):
        pass


def test_the_guard_accepts_the_installed_sdk() -> None:
    module = _fake_sdk(hook=True, called_by_callers=True)
    with without_stack_traces(module, STACK_TRACE_SDK_VERSION):
        assert len(module._get_stack_trace().frames) == 0
    assert module._get_stack_trace() == "frames"
    # The pin is the installed SDK: an upgrade fails here first, not silently slower.
    with without_stack_traces():
        pass
    assert offline.STACK_TRACE_SDK_VERSION == STACK_TRACE_SDK_VERSION


def test_cli_exits_without_teardown_after_flushing_its_output(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    done = subprocess.run(
        [sys.executable, "-m", "infra.plan", "--stack", "dev", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # stdout is a pipe here (block-buffered): the line survives os._exit only if flushed.
    assert out.read_text().endswith("}\n")
    planned = len(json.loads(out.read_text())["resources"])
    assert done.stdout == f"wrote {out} ({planned} resources)\n"
