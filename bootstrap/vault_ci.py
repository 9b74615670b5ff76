"""Vault JWT login for GitHub Actions: one role per CI job kind, each bound to numeric GitHub ids,
the job's environment and the exact workflow file, holding the policies of
bootstrap/vault_policies.py.
"""

from __future__ import annotations

import pulumi
import pulumi_vault as vault

from bootstrap.github import (
    GITHUB_OIDC_URL,
    STRUCTURE_WORKFLOW,
    UP_WORKFLOW,
    DeployerArgs,
    GithubJob,
    VaultCiArgs,
)
from bootstrap.vault_policies import vault_ci_policies


def vault_ci_logins(parent: pulumi.Resource, name: str, a: DeployerArgs, v: VaultCiArgs) -> None:
    """The `github-actions` JWT mount, CI policies and `ci-*` roles, as children of `parent`."""
    backend = vault.jwt.AuthBackend(
        f"{name}-vault-github",
        path=v.mount,
        type="jwt",
        description=f"GitHub Actions of {a.repository}",
        oidc_discovery_url=GITHUB_OIDC_URL,
        bound_issuer=GITHUB_OIDC_URL,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    policies = vault_ci_policies(v.stack_prefix)
    created = {
        purpose: vault.Policy(
            f"{name}-vault-ci-{purpose}-policy",
            name=f"{v.stack_prefix}-ci-{purpose}",
            policy=document,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for purpose, document in policies.items()
    }
    logins: list[tuple[str, GithubJob, list[pulumi.Input[str]], int]] = [
        (
            f"deploy-{job.environment}",
            job,
            [created["deploy"].name],
            v.deploy_token_ttl,
        )
        for job in a.deploy_jobs()
        if job.workflow == UP_WORKFLOW
    ]
    logins.append(
        (
            "structure",
            GithubJob(environment=a.structure_environment, workflow=STRUCTURE_WORKFLOW),
            [created["structure"].name],
            v.deploy_token_ttl,
        )
    )
    if a.create_preview_role:
        logins.append(("preview", a.preview_job(), [created["preview"].name], v.preview_token_ttl))
    for role_name, job, token_policies, ttl in logins:
        vault.jwt.AuthBackendRole(
            f"{name}-vault-ci-{role_name}",
            backend=backend.path,
            role_name=f"ci-{role_name}",
            role_type="jwt",
            bound_audiences=[v.audience],
            # Numeric ids (a renamed or re-created repository does not match), the job's
            # environment and the exact workflow file; `glob` only for the PR number.
            bound_claims_type="glob" if "*" in job.ref else "string",
            bound_claims={
                "repository_owner_id": a.owner_id,
                "repository_id": a.repository_id,
                "environment": job.environment,
                "job_workflow_ref": a.workflow_ref(job),
            },
            user_claim="sub",
            # Copied into the token's metadata, so Vault's audit log names the workflow run.
            claim_mappings={
                "repository": "repository",
                "workflow": "workflow",
                "run_id": "run_id",
                "sha": "sha",
                "actor": "actor",
            },
            token_policies=token_policies,
            token_ttl=ttl,
            token_max_ttl=ttl,
            opts=pulumi.ResourceOptions(parent=parent),
        )
