"""Shared fixtures: run programs and components under the recording mock engine, plan stacks."""

from __future__ import annotations

import copy
import fcntl
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.paths import ROOT as ROOT  # re-exported: suites import it from here too
from tests.stacks_discovery import STACKS as STACKS
from tests.stacks_discovery import stack_file

if TYPE_CHECKING:
    from devtools.offline import PlanMocks, ProgramRun

# Pulumi is imported only by the fixtures that run the program: the runtime and Airflow-facing
# Vault suites are collected under MWAA's constraints too (scripts/check-mwaa), where Pulumi
# cannot be installed.

PROJECT = "airflow-atlas-identity"

# A complete, valid dev configuration (bare keys) that tests copy and mutate.
BASE_CONFIG: dict[str, Any] = {
    "tier": "dev",
    "awsAccountId": "123456789012",
    "awsRegion": "eu-west-1",
    "mwaaEnvironmentName": "analytics-test",
    "mwaaSourceBucketArn": "arn:aws:s3:::acme-mwaa-test-dags",
    "atlasProjectId": "0123456789abcdef01234567",
    "atlasClusters": [{"name": "core", "srvHost": "core.ab1cd.mongodb.net"}],
    "pipelines": [
        {
            "name": "orders-ingest",
            "authMode": "aws-iam",
            "grants": [
                {"database": "sales", "collections": ["orders"], "access": "read-write"},
                {"database": "reference", "collections": ["currencies"], "access": "read"},
            ],
        },
        {
            "name": "revenue-report",
            "authMode": "aws-iam",
            "grants": [{"database": "sales", "collections": ["orders"], "access": "read"}],
        },
    ],
}


@pytest.fixture
def base_config() -> dict[str, Any]:
    return copy.deepcopy(BASE_CONFIG)


ProgramRunner = Callable[..., "ProgramRun"]


@pytest.fixture
def run_stack() -> ProgramRunner:
    """Run infra/__main__.py with bare-key config values, as `pulumi up` would."""

    def run(
        config: Mapping[str, Any],
        *,
        stack: str = "test",
        preview: bool = False,
        mocks: PlanMocks | None = None,
    ) -> ProgramRun:
        from devtools.offline import PlanMocks, run_program, to_config_strings

        return run_program(
            project=PROJECT,
            stack=stack,
            config=to_config_strings(PROJECT, config),
            mocks=mocks or PlanMocks(account_id="123456789012", region="eu-west-1"),
            preview=preview,
        )

    return run


@pytest.fixture
def run_component() -> ProgramRunner:
    """Run `program` (a function declaring resources) under the mock engine."""

    def run(
        program: Callable[[], None], *, preview: bool = False, mocks: PlanMocks | None = None
    ) -> ProgramRun:
        from devtools.offline import PlanMocks, run_program

        return run_program(
            project=PROJECT,
            stack="test",
            config={},
            mocks=mocks or PlanMocks(account_id="123456789012", region="eu-west-1"),
            preview=preview,
            program=program,
        )

    return run


class CommittedPlans:
    """The offline plan of each committed stack, planned on first use, once per session.

    Shared by every suite: treat a plan as read-only (copy it before changing anything).
    """

    def __init__(self) -> None:
        self._plans: dict[str, dict[str, Any]] = {}

    def __getitem__(self, stack: str) -> dict[str, Any]:
        if stack not in self._plans:
            self._plans[stack] = plan_stack(stack)
        return self._plans[stack]


def plan_stack(stack: str) -> dict[str, Any]:
    """A fresh offline plan of `Pulumi.<stack>.yaml` (for tests that compare two runs)."""
    from devtools import plan as offline_plan

    return offline_plan.plan(offline_plan.read_stack_file(stack_file(stack)))


@pytest.fixture(scope="session")
def committed_plans() -> CommittedPlans:
    return CommittedPlans()


@pytest.fixture(scope="session")
def benchmark_estate_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The offline plan of the benchmark's largest stack: bench/synthetic.py's estate at
    bench/plan_scale.py's largest size (1,000 pipelines over 12 Atlas projects; ~20 s to plan).

    Planned once per run, not once per xdist worker: the first worker to ask plans it and writes
    its JSON in the directory the workers share; the others wait on the lock and read it (the
    pattern of pytest-xdist's "Making session-scoped fixtures execute only once",
    https://pytest-xdist.readthedocs.io/en/stable/how-to.html#making-session-scoped-fixtures-execute-only-once
    with fcntl instead of its FileLock, which is not a dependency). Every worker reads the same
    JSON, as the CLI writes it (`--json`). Read-only: copy what you change.
    """
    base = tmp_path_factory.getbasetemp()
    # An xdist worker's basetemp is <run's basetemp>/popen-gwN; without xdist it is the run's.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return _produced_once(shared / "benchmark-estate.plan.json", _plan_benchmark_estate)


def _plan_benchmark_estate(path: Path) -> None:
    from bench import plan_scale, synthetic
    from devtools import plan as offline_plan

    planned = offline_plan.plan(synthetic.stack_file(plan_scale.LARGEST_PIPELINES))
    offline_plan.write_json(path, planned)


def _produced_once(path: Path, produce: Callable[[Path], None]) -> dict[str, Any]:
    """`path`'s JSON, produced by `produce(path)` only if no process has produced it yet."""
    with path.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.is_file():
            partial = path.with_suffix(".partial")
            produce(partial)
            partial.replace(path)  # a producer that died mid-write leaves no half file behind
    return dict(json.loads(path.read_text()))


# Suites that read what the repository commits (stack files, snapshots, workflows, docs): the
# journeys (tests/journeys/) re-run exactly these on a scratch clone after changing that data the
# way a user does, with no test edited. Derived from each module's source, never listed.
REPOSITORY_DATA = re.compile(
    r"stacks_discovery|committed_plans|Pulumi\.(dev|prod|org|\{|<)|snapshots/"
    r"|\.github/workflows|README"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    sources: dict[Path, str] = {}
    for item in items:
        path = item.path
        if path not in sources:
            sources[path] = path.read_text()
        if REPOSITORY_DATA.search(sources[path]) and "journeys" not in path.parts:
            item.add_marker(pytest.mark.repository_data)
