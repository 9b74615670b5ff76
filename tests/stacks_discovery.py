"""The committed stacks, found from the stack files themselves (pathlib only: no Pulumi import).

Every `Pulumi.<stack>.yaml` next to `Pulumi.yaml` is an environment the suites plan and check,
unless it is named in NON_ENVIRONMENT_STACKS. A new stack file is tested without any other edit.
The runtime suite imports this module in a venv without Pulumi, so it must stay dependency-free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from tests.paths import ROOT as ROOT  # re-exported: suites import it from here too

# Stack files in the repository root that are not deployment environments: `org` owns the Atlas
# organization's federation config (infra/settings/org.py) and has tests of its own.
NON_ENVIRONMENT_STACKS: frozenset[str] = frozenset({"org"})


def committed_stacks(root: Path = ROOT) -> tuple[str, ...]:
    """Sorted stack names of root's `Pulumi.<stack>.yaml` files, minus NON_ENVIRONMENT_STACKS."""
    names = {
        path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for path in root.glob("Pulumi.*.yaml")
    }
    return tuple(sorted(names - NON_ENVIRONMENT_STACKS))


def stack_file(stack: str, root: Path = ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


STACKS: tuple[str, ...] = committed_stacks()


class StackPlans(Protocol):
    """Offline plans by stack name (the session fixture `committed_plans` in tests/conftest.py)."""

    def __getitem__(self, stack: str, /) -> dict[str, Any]: ...
