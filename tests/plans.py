"""The program's committed plans, read without Pulumi (the MWAA-constraints job cannot install it).

- `snapshots/<stack>.plan.json`: the committed stacks, kept current by `python -m infra.snapshot`
  (tests/snapshots checks the drift).
- `tests/runtime/integration/stacks/runtime-it.plan.json`: the runtime integration tests' stack,
  kept current by `python -m tests.plans` (tests/snapshots/test_test_plans.py checks the drift).

Both are in infra/snapshot.py's expanded form; `collapse` turns them back into the plan that
`python -m infra.plan --json` writes (same rule as infra.snapshot.collapse, which imports Pulumi;
tests/snapshots/test_test_plans.py proves the two agree on every committed plan).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
JSON_MARK = "__json__"
RUNTIME_IT_STACK_FILE = ROOT / "tests/runtime/integration/stacks/Pulumi.runtime-it.yaml"
RUNTIME_IT_PLAN = RUNTIME_IT_STACK_FILE.with_name("runtime-it.plan.json")
REGENERATE = "python -m tests.plans"


def collapse(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {JSON_MARK}:
            return json.dumps(collapse(value[JSON_MARK]))
        return {k: collapse(v) for k, v in value.items()}
    if isinstance(value, list):
        return [collapse(v) for v in value]
    return value


def read_plan(path: Path) -> dict[str, Any]:
    plan: dict[str, Any] = collapse(json.loads(path.read_text()))
    return plan


def committed_plan(stack: str) -> dict[str, Any]:
    return read_plan(ROOT / "snapshots" / f"{stack}.plan.json")


def runtime_it_plan() -> dict[str, Any]:
    return read_plan(RUNTIME_IT_PLAN)


def render_runtime_it_plan() -> str:
    """The runtime-it plan as the program makes it now (needs Pulumi: main venv only)."""
    from infra.plan import plan, read_stack_file
    from infra.snapshot import render_plan

    return render_plan(plan(read_stack_file(RUNTIME_IT_STACK_FILE, stack="runtime-it")))


def main() -> int:
    RUNTIME_IT_PLAN.write_text(render_runtime_it_plan())
    print(f"wrote {RUNTIME_IT_PLAN.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
