"""The GitHub jobs that hold a cloud identity, read from the workflows themselves.

Per stack: the GitHub environment each job runs in, the workflow file GitHub names in its OIDC
token (`job_workflow_ref`: for a job that calls a reusable workflow, the called file), the ref
that workflow runs at, and the AWS and Vault roles its steps ask for. The bootstrap's trust
policies and Vault roles must admit exactly these jobs (tests/bootstrap/test_program.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.paths import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
EXPRESSION = re.compile(r"\$\{\{\s*(inputs|matrix)\.([\w-]+)\s*\}\}")
AWS_ROLE = re.compile(r"vars\.([A-Z]+)_ROLE_ARN")
# GitHub runs a pull request's workflow at its merge ref; every other trigger of these workflows
# runs on the default branch ("Events that trigger workflows", GITHUB_REF of each event).
PULL_REQUEST_REF = "refs/pull/*/merge"
MAIN_REF = "refs/heads/main"


@dataclass(frozen=True, order=True, kw_only=True)
class IdentityJob:
    stack: str
    environment: str
    workflow: str
    """The workflow file, relative to the repository (`.github/workflows/pulumi-up.yml`)."""
    ref: str
    aws_role: str
    """`deploy` or `preview`: the bootstrap role whose ARN the job's ROLE_ARN names."""
    vault_role: str

    def workflow_ref(self, repository: str) -> str:
        return f"{repository}/{self.workflow}@{self.ref}"

    def subject(self, *, owner_id: str, repository_id: str, repository: str) -> str:
        """The token's `sub` under the repository's subject template (docs/operations.md §2.4)."""
        return (
            f"repository_owner_id:{owner_id}:repository_id:{repository_id}:"
            f"environment:{self.environment}:job_workflow_ref:{self.workflow_ref(repository)}"
        )


def _load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), path
    return document


def _triggers(workflow: Mapping[Any, Any]) -> dict[Any, Any]:
    """YAML 1.1 reads the key `on` as the boolean True."""
    on = workflow.get("on", workflow.get(True))
    return on if isinstance(on, dict) else {on: None}


def _substitute(text: str, values: Mapping[str, Mapping[str, Any]]) -> str:
    return EXPRESSION.sub(lambda m: str(values[m.group(1)][m.group(2)]), text)


def _job_values(workflow: Mapping[Any, Any], job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each run of a job: its matrix entries, or the stacks a dispatch input offers."""
    include = (job.get("strategy") or {}).get("matrix", {}).get("include")
    if include:
        return [{"matrix": dict(entry)} for entry in include]
    dispatch = _triggers(workflow).get("workflow_dispatch") or {}
    stacks = dispatch.get("inputs", {}).get("stack", {}).get("options", [])
    return [{"inputs": {"stack": stack}} for stack in stacks]


def _identities(
    job: Mapping[str, Any], values: Mapping[str, Mapping[str, Any]], *, workflow: str, ref: str
) -> Iterator[IdentityJob]:
    for step in job.get("steps", []):
        env = step.get("env") or {}
        if "ROLE_ARN" not in env:
            continue
        role = _substitute(env["ROLE_ARN"], values)  # e.g. matrix.role -> ${{ vars.X_ROLE_ARN }}
        found = AWS_ROLE.search(role)
        assert found, f"{workflow}: ROLE_ARN {role} names no bootstrap role"
        stack = values.get("inputs", {}).get("stack") or values["matrix"]["stack"]
        yield IdentityJob(
            stack=str(stack),
            environment=_substitute(job["environment"], values),
            workflow=workflow,
            ref=ref,
            aws_role=found.group(1).lower(),
            vault_role=_substitute(env["VAULT_ROLE"], values),
        )


def identity_jobs() -> set[IdentityJob]:
    """Every (stack, environment, workflow, ref, roles) a workflow run can hold an identity in."""
    jobs: set[IdentityJob] = set()
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = _load(path)
        if "workflow_call" in _triggers(workflow):
            continue  # a reusable workflow runs as its callers' job, counted there
        ref = PULL_REQUEST_REF if "pull_request" in _triggers(workflow) else MAIN_REF
        for job in workflow["jobs"].values():
            if "uses" in job:  # a reusable workflow of this repository, called with `with:`
                called_path = ROOT / str(job["uses"]).removeprefix("./")
                called = _load(called_path)
                values = {"inputs": dict(job.get("with") or {})}
                for called_job in called["jobs"].values():
                    jobs |= set(
                        _identities(
                            called_job,
                            values,
                            workflow=str(called_path.relative_to(ROOT)),
                            ref=ref,
                        )
                    )
            elif "environment" in job:
                for values in _job_values(workflow, job):
                    jobs |= set(
                        _identities(job, values, workflow=str(path.relative_to(ROOT)), ref=ref)
                    )
    return jobs


def stack_identity_jobs(stack: str, *, aws_role: str | None = None) -> list[IdentityJob]:
    """The stack's identity jobs (of one AWS role), sorted."""
    return sorted(
        job
        for job in identity_jobs()
        if job.stack == stack and (aws_role is None or job.aws_role == aws_role)
    )
