"""README.md: short, in the order users need it, and its quoted output is the program's."""

from __future__ import annotations

import re

from devtools import plan as offline_plan
from tests.paths import ROOT
from tests.stacks_discovery import StackPlans

README = (ROOT / "README.md").read_text()
MAX_LINES = 180

SECTIONS = [
    "## Two commands",
    "## Add or remove a pipeline",
    "## What a stack creates",
    "## Deploying",
    "## What is verified here, and what is not",
    "## Threat model",
    "## Where things live",
    "## Documentation",
]
LINKS = [
    "docs/settings.md",
    "runtime/README.md",
    "docs/operations.md",
    "docs/connection-contract.md",
    "docs/limits.md",
    "docs/auth-modes.md",
    "docs/plan-format.md",
    "docs/threat-model.md",
    "CONTRIBUTING.md",
]


def test_readme_is_short() -> None:
    assert len(README.splitlines()) <= MAX_LINES


def test_sections_come_in_user_order() -> None:
    headings = [line for line in README.splitlines() if line.startswith("## ")]
    assert headings == SECTIONS


def test_links_the_reference_pages() -> None:
    targets = set(re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README))
    assert set(LINKS) <= targets
    assert all((ROOT / t).exists() for t in targets), targets


def test_the_test_command_is_what_ci_runs() -> None:
    assert "bash scripts/check" in README
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == "bash scripts/check"


def quoted_plan_output() -> list[list[str]]:
    """The words of each line the README quotes from the dev plan's summary ("..." elides)."""
    block = README.split("The first prints", 1)[1].split("```\n", 2)[1]
    return [line.split() for line in block.splitlines() if line.strip() not in ("", "...")]


def fits(quoted: list[str], actual: list[str]) -> bool:
    """A quoted line fits an output line word for word; a placeholder (N, M) stands for a count."""
    return len(quoted) == len(actual) and all(
        q == a or (re.fullmatch(r"[A-Z]", q) is not None and a.isdigit())
        for q, a in zip(quoted, actual, strict=True)
    )


def test_quoted_plan_output_is_the_dev_plan(committed_plans: StackPlans) -> None:
    actual = [line.split() for line in offline_plan.summary(committed_plans["dev"]).splitlines()]
    quoted = quoted_plan_output()
    assert quoted
    missing = [" ".join(q) for q in quoted if not any(fits(q, a) for a in actual)]
    assert missing == []


def test_quoted_plan_output_states_no_count() -> None:
    """Counts change with every resource the dev stack gains: the README shows their shape
    (placeholders), so adding a resource or a preset leaves it true."""
    header, *_ = quoted_plan_output()
    assert header[:2] == ["Plan", "of"]
    counts = [header[3], header[6]]
    assert all(re.fullmatch(r"[A-Z]", c) for c in counts), header
    table = [line for line in quoted_plan_output() if line and line[0].isdigit()]
    assert table == []


def test_change_map_anchor_exists() -> None:
    assert "(CONTRIBUTING.md#change-map)" in README
    assert "\n## Change map\n" in (ROOT / "CONTRIBUTING.md").read_text()
