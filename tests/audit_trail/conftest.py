"""Shared helpers of the evidence tests: the dev stack's plan, a day of logs, the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.audit_samples import AGENT_USER, Day, Inputs, read_jsonl

ROOT = Path(__file__).resolve().parents[2]
DEV_PLAN = ROOT / "snapshots" / "dev.plan.json"
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
# Runs of one pipeline are further apart than a credential lives (1 h sessions and tokens in
# dev; finance-reconcile's 4 h Vault lease does not matter: its users are issued per run), so
# each access has exactly one covering run unless a test makes two overlap.
RUN_SPACING = timedelta(minutes=65)


@dataclass(frozen=True, kw_only=True)
class Result:
    code: int
    stdout: str
    stderr: str
    out: Path

    @property
    def ledger(self) -> list[dict[str, Any]]:
        return read_jsonl(self.out / "ledger.jsonl")

    @property
    def findings(self) -> list[dict[str, Any]]:
        return read_jsonl(self.out / "findings.jsonl")

    def kinds(self) -> set[str]:
        return {f["kind"] for f in self.findings}


def run_cli(arguments: Sequence[str], out: Path, *, env: Mapping[str, str] | None = None) -> Result:
    """`python -m audit_trail ARGUMENTS --out OUT` in its own process, from the repository."""
    argv = [sys.executable, "-m", "audit_trail", *arguments, "--out", str(out)]
    done = subprocess.run(
        argv,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return Result(code=done.returncode, stdout=done.stdout, stderr=done.stderr, out=out)


def run_command(
    inputs: Inputs,
    out: Path,
    *,
    plan: Path = DEV_PLAN,
    stack: str = "dev",
    vault: bool = True,
    extra: Sequence[str] = (),
) -> Result:
    arguments = [
        "--stack",
        stack,
        "--plan",
        str(plan),
        "--atlas-logs",
        str(inputs.atlas),
        "--cloudtrail",
        str(inputs.cloudtrail),
        *(["--vault-audit", str(inputs.vault)] if vault else []),
        *extra,
    ]
    return run_cli(arguments, out)


@pytest.fixture(scope="session")
def dev_plan() -> dict[str, Any]:
    plan: dict[str, Any] = json.loads(DEV_PLAN.read_text())
    return plan


def clean_day(plan: dict[str, Any], rounds: int = 2) -> Day:
    """Every pipeline of the plan runs `rounds` times, touching its grants only.

    Runs start 5 minutes apart; an operators' agent (`AGENT_USER`, passed with --allow-user)
    authenticates every 4 minutes on each host, so no host's log has a hole.
    """
    day = Day(plan=plan)
    names = sorted(day.pipelines)
    for round_ in range(rounds):
        for index, name in enumerate(names):
            at = START + round_ * RUN_SPACING + index * timedelta(minutes=5)
            day.task_run(name, at=at, run_id=f"scheduled__2026-12-01T{round_:02d}:00:00+00:00")
    day.agent_heartbeats(start=START, end=START + rounds * RUN_SPACING)
    return day


ALLOW_AGENT = ("--allow-user", AGENT_USER)


@pytest.fixture
def write_day(tmp_path: Path) -> Callable[[Day], Inputs]:
    def write(day: Day) -> Inputs:
        return day.write(tmp_path / "logs")

    return write
