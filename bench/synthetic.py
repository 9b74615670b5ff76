"""Synthetic stacks for the planning benchmark: an estate of N pipelines over Atlas projects.

The estate is laid out as a platform team would deploy it: Atlas projects are
the unit of scale, `PIPELINES_PER_PROJECT` pipelines per project on `CLUSTERS_PER_PROJECT`
clusters each, so 1,000 pipelines are 12 projects (100 -> 2, 300 -> 4). Pipelines go round-robin
over the projects and, within a project, round-robin over every `AuthMode`, with the settings
those modes need (as in the committed dev stack). A project whose database users (one per
identity-bound pipeline, `DEFAULT_CONCURRENT_LEASES` per vault-dynamic pipeline) exceed Atlas'
default declares the raised limit in `atlasProjectLimits`, as the project's owner would after
raising it, and so does an account over IAM's default role quota in `awsIamRoleQuota`
(model/limits/__init__.py).

`CLUSTERS_IN_PROJECTS` is the one switch between the two layouts:
- True: each cluster names its project (`atlasClusters[].projectId`), and `atlasProjectLimits`
  declares per project only the raise that project needs;
- False: every cluster is in `atlasProjectId`, one project whose limits are declared raised to
  Atlas' documented maxima. Atlas allows at most 900 database users per project, so a
  1,000-pipeline estate cannot pass its limit rules this way (tests/bench/test_synthetic.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devtools import plan as offline_plan
from infra import settings as stack_settings
from model.access import AuthMode
from model.limits import (
    ATLAS_CUSTOM_ROLES_PER_PROJECT,
    ATLAS_USERS_PER_PROJECT,
    DEFAULT_CONCURRENT_LEASES,
    IAM_ROLES_PER_ACCOUNT,
)

PROJECT = "airflow-atlas-identity"
ACCOUNT, REGION = "123456789012", "eu-west-1"

# 84 pipelines of mixed modes hold ~112 database users: a raised limit most teams can get.
PIPELINES_PER_PROJECT = 84
CLUSTERS_PER_PROJECT = 2
# The switch between the two layouts (see the module docstring).
CLUSTERS_IN_PROJECTS = True


# Settings the okta-oidc and vault-dynamic modes need (as in the committed dev stack). Only keys
# the program declares (infra.settings.KEYS) are used, so the synthetic stack stays valid for the
# program as it is: without those modes, none of these is added.
MODE_SETTINGS: dict[str, dict[str, Any]] = {
    "okta-oidc": {
        "atlasWorkloadIdpId": "6c1d2e3f40516273849a5b6f",
        "oktaKeyRotationHours": 24,
    },
    "vault-dynamic": {
        "atlasOrgId": "5f0e1d2c3b4a596877665544",
        "vaultAddress": "https://vault.bench.internal:8200",
        "vaultAudit": {"type": "file", "options": {"file_path": "/vault/audit/audit.log"}},
        "atlasVaultApiKeyAccessList": ["10.20.0.0/24"],
    },
}
PROVIDER_SETTINGS: dict[str, dict[str, Any]] = {
    "okta-oidc": {"okta:orgName": "acme-bench", "okta:baseUrl": "oktapreview.com"},
}


def _modes() -> list[str]:
    return sorted(m.value for m in AuthMode)


def _modes_used(pipelines: int) -> list[str]:
    """Settings refuse keys of a mode no pipeline uses, so only those modes' settings are added."""
    return sorted({p.mode for p in layout(pipelines)})


def project_count(pipelines: int) -> int:
    return max(1, -(-pipelines // PIPELINES_PER_PROJECT))


def project_id(index: int) -> str:
    """A 24-hex-digit Atlas project id; project 0 is the stack's `atlasProjectId`."""
    return f"0123456789abcdef{index:08x}"


def cluster_name(project: int, cluster: int) -> str:
    return f"p{project:02d}-core-{cluster}"


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where pipeline `index` lives and how it authenticates."""

    index: int
    project: int
    cluster: str
    mode: str

    @property
    def database_users(self) -> int:
        """Users it holds in its project at once (infra/settings/limits.py counts the same)."""
        vault = self.mode == AuthMode.VAULT_DYNAMIC.value
        return DEFAULT_CONCURRENT_LEASES if vault else 1


def layout(pipelines: int) -> list[Placement]:
    """Round-robin over projects; within a project, over auth modes and the project's clusters."""
    modes, projects = _modes(), project_count(pipelines)
    placements = []
    for i in range(pipelines):
        project, rank = i % projects, i // projects
        placements.append(
            Placement(
                index=i,
                project=project,
                cluster=cluster_name(project, rank % CLUSTERS_PER_PROJECT),
                mode=modes[rank % len(modes)],
            )
        )
    return placements


def project_needs(pipelines: int) -> dict[str, dict[str, int]]:
    """Per project id: the database users and custom roles (one per pipeline) it holds."""
    needs = {
        project_id(k): {"databaseUsers": 0, "customRoles": 0}
        for k in range(project_count(pipelines))
    }
    for p in layout(pipelines):
        needs[project_id(p.project)]["databaseUsers"] += p.database_users
        needs[project_id(p.project)]["customRoles"] += 1
    return needs


def _raised(needed: int, default: int) -> int | None:
    """The limit a project's owner would raise to (next multiple of 10), or None if not needed."""
    return None if needed <= default else -(-needed // 10) * 10


def atlas_values(pipelines: int) -> dict[str, Any]:
    """`atlasProjectId`, `atlasClusters` and `atlasProjectLimits` of the estate (the switch)."""
    projects = project_count(pipelines)
    clusters = [
        {
            "name": cluster_name(k, c),
            "srvHost": f"{cluster_name(k, c)}.ab1cd.mongodb.net",
            **({"projectId": project_id(k)} if CLUSTERS_IN_PROJECTS else {}),
        }
        for k in range(projects)
        for c in range(CLUSTERS_PER_PROJECT)
    ]
    values: dict[str, Any] = {"atlasProjectId": project_id(0), "atlasClusters": clusters}
    if not CLUSTERS_IN_PROJECTS:
        # One project raised to Atlas' documented maxima (model/limits/__init__.py).
        values["atlasProjectLimits"] = {
            project_id(0): {
                "databaseUsers": ATLAS_USERS_PER_PROJECT.maximum,
                "customRoles": ATLAS_CUSTOM_ROLES_PER_PROJECT.maximum,
            }
        }
        return values
    declared: dict[str, dict[str, int]] = {}
    for project, need in project_needs(pipelines).items():
        raised = {
            "databaseUsers": _raised(need["databaseUsers"], ATLAS_USERS_PER_PROJECT.value),
            "customRoles": _raised(need["customRoles"], ATLAS_CUSTOM_ROLES_PER_PROJECT.value),
        }
        if any(raised.values()):
            declared[project] = {k: v for k, v in raised.items() if v is not None}
    if declared:
        values["atlasProjectLimits"] = declared
    return values


def role_quota(pipelines: int) -> dict[str, int]:
    """`awsIamRoleQuota` when the stack's roles (one per pipeline, plus the execution role)
    exceed IAM's default, as the account's owner would declare it after raising the quota
    ('Roles per account' in Service Quotas, model/limits/__init__.py) to the next 500."""
    roles = pipelines + 1
    if roles <= IAM_ROLES_PER_ACCOUNT.value:
        return {}
    return {"awsIamRoleQuota": -(-roles // 500) * 500}


def synthetic_values(pipelines: int) -> dict[str, Any]:
    """A stack (bare keys) of the estate with `pipelines` pipelines (see the module docstring)."""
    extra = {
        key: value
        for mode in _modes_used(pipelines)
        for key, value in MODE_SETTINGS.get(mode, {}).items()
        if key in stack_settings.KEYS
    }
    return {
        **extra,
        "tier": "staging",
        "awsAccountId": ACCOUNT,
        "awsRegion": REGION,
        "mwaaEnvironmentName": "bench",
        "mwaaSourceBucketArn": "arn:aws:s3:::bench-dags",
        "mwaaCreateEnvironment": True,
        "mwaaAirflowVersion": "3.0.6",
        "mwaaSubnetIds": ["subnet-0a", "subnet-0b"],
        "mwaaSecurityGroupIds": ["sg-0a"],
        "pipelineSessionSeconds": 900,
        **atlas_values(pipelines),
        **role_quota(pipelines),
        "pipelines": [
            {
                "name": f"pipeline-{p.index:04d}",
                "authMode": p.mode,
                "cluster": p.cluster,
                "grants": [
                    {
                        "database": f"db{p.index % 7}",
                        "collections": ["orders", "order_items"],
                        "access": "read-write",
                    },
                    {"database": "reference", "collections": ["currencies"], "access": "read"},
                ],
            }
            for p in layout(pipelines)
        ],
    }


def stack_file(pipelines: int) -> offline_plan.StackFile:
    values = synthetic_values(pipelines)
    providers = {
        k: v for mode in _modes_used(pipelines) for k, v in PROVIDER_SETTINGS.get(mode, {}).items()
    }
    return offline_plan.StackFile(
        project=PROJECT,
        stack="bench",
        config={**providers, **{f"{PROJECT}:{k}": v for k, v in values.items()}},
    )


def write_stack_file(pipelines: int, directory: Path) -> Path:
    """The synthetic stack as a stack file the CLI reads (`--config-file`)."""
    path = directory / f"Pulumi.bench-{pipelines}.yaml"
    path.write_text(yaml.safe_dump({"config": stack_file(pipelines).config}, sort_keys=True))
    return path
