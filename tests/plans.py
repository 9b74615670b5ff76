"""The program's committed plans, read without Pulumi (the MWAA-constraints job cannot install it).

- `snapshots/<stack>.plan.json`: the committed stacks, kept current by `python -m infra.snapshot`
  (tests/devtools/test_snapshot.py checks the drift).
- `tests/runtime/integration/stacks/runtime-it.plan.json`: the runtime integration tests' stack,
  kept current by `python -m tests.plans` (tests/test_plans.py checks the drift).

Both are in the snapshots' expanded form; `collapse` (devtools/snapshot_form.py, Pulumi-free) turns
them back into the plan that `python -m infra.plan --json` writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from devtools.snapshot_form import collapse
from tests.paths import ROOT

RUNTIME_IT_STACK_FILE = ROOT / "tests/runtime/integration/stacks/Pulumi.runtime-it.yaml"
RUNTIME_IT_PLAN = RUNTIME_IT_STACK_FILE.with_name("runtime-it.plan.json")
REGENERATE = "python -m tests.plans"


def read_plan(path: Path) -> dict[str, Any]:
    plan: dict[str, Any] = collapse(json.loads(path.read_text()))
    return plan


def committed_plan(stack: str) -> dict[str, Any]:
    return read_plan(ROOT / "snapshots" / f"{stack}.plan.json")


def runtime_it_plan() -> dict[str, Any]:
    return read_plan(RUNTIME_IT_PLAN)


def render_runtime_it_plan() -> str:
    """The runtime-it plan as the program makes it now (needs Pulumi: main venv only)."""
    from devtools.plan import plan, read_stack_file
    from devtools.snapshot import render_plan

    return render_plan(plan(read_stack_file(RUNTIME_IT_STACK_FILE, stack="runtime-it")))


# The interpreter that runs the program (Pulumi) for suites that run elsewhere, e.g. under MWAA's
# constraints (scripts/check-mwaa runs after scripts/setup, so the project's venv exists).
PROGRAM_PYTHON = Path(os.environ.get("PROGRAM_PYTHON", ROOT / ".venv" / "bin" / "python"))


def runtime_it_plan_with_kms(endpoint_url: str, region: str) -> dict[str, Any]:
    """The runtime-it plan made by the program with its KMS keys created at `endpoint_url`
    (moto): the planned JWKS holds that service's public keys. The program runs in its own
    interpreter, so this works where Pulumi cannot be installed."""
    done = subprocess.run(
        [str(PROGRAM_PYTHON), "-m", "tests.plans", "--kms-endpoint", endpoint_url, region],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"planning with KMS at {endpoint_url} failed:\n{done.stderr}")
    plan: dict[str, Any] = json.loads(done.stdout)
    return plan


def _plan_with_kms(endpoint_url: str, region: str) -> dict[str, Any]:
    import boto3

    from devtools.plan import plan, read_stack_file

    kms = boto3.client(
        "kms",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    return plan(read_stack_file(RUNTIME_IT_STACK_FILE, stack="runtime-it"), kms=kms)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--kms-endpoint"]:
        print(json.dumps(_plan_with_kms(args[1], args[2])))
        return 0
    RUNTIME_IT_PLAN.write_text(render_runtime_it_plan())
    print(f"wrote {RUNTIME_IT_PLAN.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
