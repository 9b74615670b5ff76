"""No function of the program, its tools, the pack, the bootstrap or the runtime is over 80 lines.

A longer one is split along a real seam (a system, a rule family, a step), not into numbered parts.
"""

from __future__ import annotations

import ast

import pytest

from tests.house import source_files
from tests.stacks_discovery import ROOT

MAX_LINES = 80


def long_functions(source: str) -> list[tuple[str, int]]:
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_LINES
    ]


@pytest.mark.parametrize("path", source_files())
def test_no_function_is_over_80_lines(path: str) -> None:
    assert long_functions((ROOT / path).read_text()) == []


def test_a_long_function_is_found() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    assert long_functions(f"def f():\n{body}\n") == [("f", MAX_LINES + 1)]
    assert long_functions(f"def f():\n{body[: body.rindex(chr(10))]}\n") == []
