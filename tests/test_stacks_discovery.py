"""Stack discovery: every environment stack file is found, nothing else, no list to maintain."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import stacks_discovery
from tests.paths import ROOT
from tests.stacks_discovery import STACKS, committed_stacks


def test_every_stack_file_is_an_environment_except_the_named_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.sandbox.yaml"):
        (tmp_path / name).write_text("config: {}\n")
    (tmp_path / "Pulumi.prod.yml").write_text("config: {}\n")  # not a stack file: .yml
    assert committed_stacks(tmp_path) == ("dev", "sandbox", "staging")
    monkeypatch.setattr(stacks_discovery, "NON_ENVIRONMENT_STACKS", frozenset({"sandbox"}))
    assert committed_stacks(tmp_path) == ("dev", "staging")


def test_the_repository_stacks_are_found() -> None:
    assert {"dev", "prod"} <= set(STACKS)
    assert all((ROOT / f"Pulumi.{stack}.yaml").is_file() for stack in STACKS)
