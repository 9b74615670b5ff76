"""Who may use the bootstrap's identities: the deployer's typed arguments, the GitHub jobs each
identity trusts, and the OIDC trust policy built from them (no resources here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from bootstrap.permissions import policy

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"
# A first `up` of prod creates an MWAA environment (20-40 minutes) before the Vault and Atlas
# resources that depend on it: deploy sessions (AWS role, Vault token) last two hours.
SESSION_SECONDS = 3600
DEPLOY_SESSION_SECONDS = 7200
# The only workflows that may use each identity, on the only branch that may deploy. GitHub puts
# the reusable workflow a job runs into the token's `job_workflow_ref`, so a workflow added by a
# merge cannot borrow these identities even if it names the same environment.
PROTECTED_REF = "refs/heads/main"
UP_WORKFLOW = ".github/workflows/pulumi-up.yml"
PREVIEW_WORKFLOW = ".github/workflows/preview.yml"
STRUCTURE_WORKFLOW = ".github/workflows/vault-structure.yml"
# The repository's OIDC subject template (set once, docs/operations.md §2.4): numeric ids instead
# of the renameable `owner/repo`, the job's environment, and the workflow it runs.
SUBJECT_CLAIMS = ("repository_owner_id", "repository_id", "context", "job_workflow_ref")


@dataclass(frozen=True, kw_only=True)
class VaultCiArgs:
    """Vault JWT login for GitHub Actions, trusting GitHub's OIDC issuer."""

    mount: str
    """Auth mount path, e.g. `github-actions`."""
    audience: str
    """The `aud` the workflows request for Vault."""
    stack_prefix: str
    """`<namePrefix>-<environment>`: every mount, auth path and policy the program manages."""
    deploy_token_ttl: int = DEPLOY_SESSION_SECONDS
    preview_token_ttl: int = SESSION_SECONDS


@dataclass(frozen=True, kw_only=True)
class GithubJob:
    """One kind of workflow job that may use an identity: its environment and workflow file."""

    environment: str
    workflow: str
    ref: str = PROTECTED_REF


@dataclass(frozen=True, kw_only=True)
class DeployerArgs:
    repository: str
    """`owner/repo`, exactly (no wildcard): only part of `job_workflow_ref`."""
    repository_id: str
    """GitHub's numeric repository id: a deleted and re-created `owner/repo` gets a new one."""
    owner_id: str
    """GitHub's numeric id of the owner (organization or user)."""
    environment: str
    """The main program's stack this account hosts, e.g. `dev`."""
    github_environments: tuple[str, ...]
    """GitHub environments whose jobs may deploy (e.g. `prod`, `prod-rotation`); all reviewed."""
    account_id: str
    region: str
    name_prefix: str
    state_bucket_name: str
    managed_secret_prefixes: tuple[str, ...]
    """Secrets Manager name prefixes the program manages (connections, Okta keys)."""
    provider_secrets_prefix: str
    mwaa_package_bucket: str | None = None
    """The DAG bucket the program uploads the MWAA package to (components/airflow/mwaa.py)."""
    """Where the Atlas/Okta provider credentials live: `<prefix>/deploy/*`, `<prefix>/preview/*`."""
    existing_oidc_provider_arn: str | None = None
    """Use the account's existing GitHub OIDC provider instead of creating one."""
    create_preview_role: bool = True
    vault_ci: VaultCiArgs | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def preview_environment(self) -> str:
        """GitHub environment of this stack's PR previews (`prod-preview`: required reviewers)."""
        return f"{self.environment}-preview"

    @property
    def structure_environment(self) -> str:
        """GitHub environment of the Vault structure workflow (required reviewers)."""
        return f"{self.environment}-vault-structure"

    def deploy_jobs(self) -> list[GithubJob]:
        return [
            *(GithubJob(environment=e, workflow=UP_WORKFLOW) for e in self.github_environments),
            GithubJob(environment=self.structure_environment, workflow=STRUCTURE_WORKFLOW),
        ]

    def preview_job(self) -> GithubJob:
        # A pull request's workflow runs at refs/pull/<number>/merge.
        return GithubJob(
            environment=self.preview_environment,
            workflow=PREVIEW_WORKFLOW,
            ref="refs/pull/*/merge",
        )

    def workflow_ref(self, job: GithubJob) -> str:
        return f"{self.repository}/{job.workflow}@{job.ref}"

    def subject(self, job: GithubJob) -> str:
        """The `sub` GitHub mints under SUBJECT_CLAIMS for this job."""
        return (
            f"repository_owner_id:{self.owner_id}:repository_id:{self.repository_id}:"
            f"environment:{job.environment}:job_workflow_ref:{self.workflow_ref(job)}"
        )


def github_trust(provider_arn: pulumi.Input[str], subjects: Sequence[str]) -> dict[str, Any]:
    """Trust exactly these `sub` values of GitHub's OIDC tokens minted for STS."""
    # Only a pull request's number is variable (StringLike `*`); every other part is exact.
    audience = {f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE}
    subject = {f"{GITHUB_OIDC_HOST}:sub": list(subjects)}
    conditions = (
        {"StringEquals": audience, "StringLike": subject}
        if any("*" in s for s in subjects)
        else {"StringEquals": {**audience, **subject}}
    )
    return policy(
        {
            "Sid": "GitHubActionsOidc",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": conditions,
        }
    )
