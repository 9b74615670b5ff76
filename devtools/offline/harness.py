"""Running the real program under the mock engine: config in, a `ProgramRun` out.

`run_program` sets the runtime up the way the language host does under `pulumi up` (config,
project, stack, a fresh root stack), runs `infra/__main__.py` (or a given program) with the
recording monitor, and puts the runtime back afterwards, so one run never leaks into the next.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from devtools.offline.mocks import PlanMocks
from devtools.offline.recording import RecordingMonitor
from devtools.offline.stack_traces import without_stack_traces

PROGRAM = Path(__file__).resolve().parents[2] / "infra" / "__main__.py"


@dataclass(kw_only=True)
class ProgramRun:
    project: str
    stack: str
    monitor: RecordingMonitor
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """What the program logged with pulumi.log.warn (the CLI would show these)."""


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_program_code: list[Any] = []


def _run_main_program() -> None:
    """Execute `infra/__main__.py` as `__main__`, its code object compiled once per process.

    The loader reads the bytecode cache (runpy.run_path recompiles the source every time) and the
    program runs one `exec` below this frame instead of runpy's three.
    """
    if not _program_code:
        spec = importlib.util.spec_from_file_location("__main__", PROGRAM)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the program {PROGRAM}")
        _program_code.append(spec.loader.get_code("__main__"))  # type: ignore[attr-defined]
    exec(_program_code[0], {"__name__": "__main__", "__file__": str(PROGRAM)})  # noqa: S102


def to_config_strings(project: str, values: Mapping[str, Any]) -> dict[str, str]:
    """Stack-file values as the Pulumi CLI passes them to a program: namespaced strings.

    Scalars become strings (`true`, `3600`), lists and maps become JSON, exactly like the engine.
    """
    result: dict[str, str] = {}
    for key, value in values.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, bool):
            result[full] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            result[full] = json.dumps(value)
        else:
            result[full] = str(value)
    return result


def run_program(
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    mocks: PlanMocks,
    preview: bool = False,
    program: Callable[[], None] | None = None,
) -> ProgramRun:
    """Run `infra/__main__.py` (or `program`) under mocks with `config`; restore runtime after."""
    saved_config = dict(pulumi.runtime.config.CONFIG.get())
    monitor = RecordingMonitor(mocks)
    collected = _Collect()
    logger = logging.getLogger(f"devtools.offline.{project}.{stack}")
    logger.propagate = False
    logger.handlers = [collected]
    try:
        runtime_settings.ROOT.set(None)
        pulumi.runtime.set_all_config(dict(config))
        pulumi.runtime.set_mocks(
            mocks, project=project, stack=stack, preview=preview, monitor=monitor, logger=logger
        )
        # set_mocks registers (and closes) a root stack of its own; run the program the way the
        # language host does under `pulumi up`, in a fresh stack whose exports get registered.
        runtime_settings.ROOT.set(None)
        body = program or _run_main_program
        with without_stack_traces():
            _sync_await(run_in_stack(body))
        return ProgramRun(
            project=project,
            stack=stack,
            monitor=monitor,
            outputs=monitor.stack_outputs,
            warnings=collected.messages,
        )
    finally:
        # Back to the SDK's empty defaults, so one run never leaks into the next.
        runtime_settings.reset_options()
        pulumi.runtime.set_all_config(saved_config)
