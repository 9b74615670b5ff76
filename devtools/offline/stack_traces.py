"""Skipping the SDK's per-registration stack capture, which only a real engine reads.

The only SDK internal the offline plan replaces (`pulumi.runtime.resource._get_stack_trace`), so
after an SDK upgrade this is the module to check: `without_stack_traces` refuses to run until
`STACK_TRACE_SDK_VERSION` names the installed SDK.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2

# The SDK version whose private stack-capture hook `without_stack_traces` replaces; checked, so an
# upgrade that moves or renames the hook fails loudly instead of silently planning slower.
STACK_TRACE_SDK_VERSION = "3.272.0"
STACK_TRACE_HOOK = "_get_stack_trace"
STACK_TRACE_CALLERS = ("register_resource", "read_resource")


class StackTraceHookMoved(RuntimeError):
    """The SDK no longer has the private hook the offline plan replaces."""


def _check_stack_trace_hook(module: Any, version: str) -> Callable[[], Any]:
    if version != STACK_TRACE_SDK_VERSION:
        raise StackTraceHookMoved(
            f"pulumi {version} is installed; devtools/offline/stack_traces.py replaces the stack "
            f"capture of pulumi {STACK_TRACE_SDK_VERSION}. Check that pulumi/runtime/resource.py "
            f"still calls {STACK_TRACE_HOOK}() once per registration, then update "
            "STACK_TRACE_SDK_VERSION."
        )
    hook = getattr(module, STACK_TRACE_HOOK, None)
    callers = [getattr(module, name, None) for name in STACK_TRACE_CALLERS]
    if not callable(hook) or not all(
        callable(c) and STACK_TRACE_HOOK in c.__code__.co_names for c in callers
    ):
        raise StackTraceHookMoved(
            f"pulumi {version}: pulumi.runtime.resource.{STACK_TRACE_HOOK} is gone or no longer "
            f"called by {', '.join(STACK_TRACE_CALLERS)}; remove or adapt without_stack_traces"
        )
    return hook  # type: ignore[no-any-return]


def _empty_stack_trace() -> Any:
    return source_pb2.StackTrace()


@contextmanager
def without_stack_traces(module: Any = sdk_resource, version: str | None = None) -> Iterator[None]:
    """Skip the SDK's per-registration stack capture inside the block (offline plan only).

    The SDK walks the whole Python stack (`traceback.extract_stack`) for every resource to send
    the engine a source position; the mock monitor never reads it, and it cost 2.3-3.3 s of a
    1000-pipeline plan. The SDK has no switch for it, so the private hook is replaced
    for the block, after checking that this SDK version has it where it is expected.
    """
    sdk_version = importlib.metadata.version("pulumi") if version is None else version
    original = _check_stack_trace_hook(module, sdk_version)
    setattr(module, STACK_TRACE_HOOK, _empty_stack_trace)
    try:
        yield
    finally:
        setattr(module, STACK_TRACE_HOOK, original)
