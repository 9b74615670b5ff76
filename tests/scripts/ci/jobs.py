"""Run one workflow job of the project in the test world and collect what it left behind."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.scripts.ci import github_actions as gha
from tests.scripts.ci.conftest import World, git, read_jsonl, recorded_calls
from tests.scripts.ci.oidc_issuer import JobIdentity

PR_NUMBER = 7


def push_run(world: World, *, event: str = "push") -> gha.Run:
    return gha.Run(
        repository=_bootstrap_value(world, "githubRepository"),
        repository_id=_bootstrap_value(world, "githubRepositoryId"),
        repository_owner_id=_bootstrap_value(world, "githubOwnerId"),
        ref="refs/heads/main",
        sha=world.unapproved_sha,
        event_name=event,
    )


def pull_request_run(world: World) -> gha.Run:
    return gha.Run(
        repository=_bootstrap_value(world, "githubRepository"),
        repository_id=_bootstrap_value(world, "githubRepositoryId"),
        repository_owner_id=_bootstrap_value(world, "githubOwnerId"),
        ref=f"refs/pull/{PR_NUMBER}/merge",
        sha=world.unapproved_sha,
        event_name="pull_request",
        event={
            "pull_request": {
                "number": PR_NUMBER,
                "head": {"repo": {"full_name": _bootstrap_value(world, "githubRepository")}},
            }
        },
    )


def _bootstrap_value(world: World, key: str) -> str:
    values = {str(a.values[key]) for a in world.accounts.values()}
    (value,) = values
    return value


@dataclass
class JobRun:
    job: gha.Job
    runner: gha.JobRunner
    steps: list[gha.StepResult]
    workspace: Path
    pulumi_calls: list[dict[str, Any]]
    """What the pulumi stand-in recorded, one entry per call."""
    secrets_seen: list[str]
    """Every secret value the job's pulumi calls received."""
    aws_calls: list[dict[str, Any]]
    """Every AWS request moto answered during the job."""
    files: dict[str, str]
    """The files the job left in its workspace (untracked), by path, as later steps read them."""

    @property
    def log(self) -> list[str]:
        return [line for step in self.steps for line in step.log]

    @property
    def raw(self) -> list[str]:
        return [line for step in self.steps for line in step.raw]

    def step(self, name: str) -> gha.StepResult:
        return next(s for s in self.steps if s.name == name)

    def pulumi_commands(self) -> list[list[str]]:
        return [c["argv"] for c in self.pulumi_calls if c["argv"][:1] != ["login"]]

    def calls(self, action: str) -> list[dict[str, Any]]:
        return [c["params"] for c in self.aws_calls if c["action"] == action]


def run_job(
    world: World,
    directory: Path,
    workflow: str,
    job_id: str,
    *,
    run: gha.Run,
    matrix: Mapping[str, Any] | None = None,
    steps: Sequence[str] | None = None,
) -> JobRun:
    """Check out a clone of the scratch repository and run the job's steps in it."""
    workspace = world.workspace
    # A fresh checkout of the triggering commit, as actions/checkout leaves it; the bytecode
    # caches (ignored files) stay, so the plan does not recompile the program for every job.
    git(workspace, "checkout", "--quiet", "--force", "main")
    git(workspace, "clean", "--quiet", "--force", "-d", "--exclude=.venv")
    temp = directory / "runner-temp"
    temp.mkdir()
    environment = job_environment(world, workflow, job_id, run=run, matrix=matrix)
    job = gha.job(
        workspace,
        workflow,
        job_id,
        run=run,
        variables=world.variables(environment),
        matrix=matrix,
    )
    records, secrets_file = directory / "pulumi-calls.jsonl", directory / "pulumi-secrets.jsonl"
    machine_env = world.machine_env() | {
        "PULUMI_STANDIN_RECORD": str(records),
        "PULUMI_STANDIN_SECRETS": str(secrets_file),
    }
    runner = gha.JobRunner(
        job=job,
        workspace=workspace,
        temp=temp,
        machine_env=machine_env,
        oidc=lambda j: world.issuer.request_endpoint(identity(j, run)),
    )
    world.moto.reset()
    results = runner.run() if steps is None else [runner.run_step(job.step(name)) for name in steps]
    seen = [v for entry in read_jsonl(secrets_file) for v in entry.values()]
    left = git(workspace, "ls-files", "--others", "--exclude-standard", "--exclude=.venv")
    return JobRun(
        job=job,
        runner=runner,
        steps=results,
        workspace=workspace,
        pulumi_calls=read_jsonl(records),
        secrets_seen=seen,
        aws_calls=recorded_calls(world.moto),
        files={name: (workspace / name).read_text(errors="replace") for name in left.splitlines()},
    )


def job_environment(
    world: World, workflow: str, job_id: str, *, run: gha.Run, matrix: Mapping[str, Any] | None
) -> str:
    """The job's GitHub environment: the variables it sees depend on it."""
    probe = gha.job(ROOT, workflow, job_id, run=run, variables=_AnyVariables(), matrix=matrix)
    return probe.environment


class _AnyVariables(dict[str, str]):
    """Variables for resolving a job's environment name before its variables are known."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return ""


def identity(job: gha.Job, run: gha.Run) -> JobIdentity:
    return JobIdentity(
        repository=run.repository,
        repository_id=run.repository_id,
        repository_owner_id=run.repository_owner_id,
        environment=job.environment,
        ref=run.ref,
        sha=run.sha,
        event_name=run.event_name,
        workflow=str(job.contexts["github"]["workflow"]),
        workflow_ref=job.workflow_ref(job.caller, run),
        job_workflow_ref=job.workflow_ref(job.defined_in, run),
        run_id=run.run_id,
        run_attempt=run.run_attempt,
        actor=run.actor,
    )


# -- what a trust policy lets in, evaluated on the claims of the token STS received ----------


def iam_string_like(pattern: str, value: str) -> bool:
    """IAM's StringLike: `*` any run of characters, `?` one character, nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def trust_admits(trust_policy: str, provider_host: str, claims: Mapping[str, Any]) -> bool:
    """Whether an `sts:AssumeRoleWithWebIdentity` statement of the policy admits these claims
    (IAM's OIDC condition keys `<provider host>:aud` / `:sub` read the token's claims)."""
    for statement in json.loads(trust_policy)["Statement"]:
        if statement["Action"] != "sts:AssumeRoleWithWebIdentity":
            continue
        if statement["Effect"] != "Allow":
            continue
        admitted = True
        for operator, conditions in statement.get("Condition", {}).items():
            for key, expected in conditions.items():
                claim = str(claims.get(key.removeprefix(f"{provider_host}:"), ""))
                values = expected if isinstance(expected, list) else [expected]
                if operator == "StringEquals":
                    admitted &= claim in values
                elif operator == "StringLike":
                    admitted &= any(iam_string_like(v, claim) for v in values)
                else:
                    raise AssertionError(f"condition operator {operator} is not modelled")
        if admitted:
            return True
    return False


def looks_like_jwt(value: str) -> bool:
    return fnmatch.fnmatchcase(value, "*.*.*") and "\n" not in value and not value.startswith("::")
