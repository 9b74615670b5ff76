"""Shared fixtures: run programs and components under the recording mock engine, plan stacks."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from tests.stacks_discovery import ROOT as ROOT
from tests.stacks_discovery import STACKS as STACKS
from tests.stacks_discovery import stack_file

if TYPE_CHECKING:
    from infra.offline import PlanMocks, ProgramRun

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
        from infra.offline import PlanMocks, run_program, to_config_strings

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
        from infra.offline import PlanMocks, run_program

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
    from infra import plan as offline_plan

    return offline_plan.plan(offline_plan.read_stack_file(stack_file(stack)))


@pytest.fixture(scope="session")
def committed_plans() -> CommittedPlans:
    return CommittedPlans()
