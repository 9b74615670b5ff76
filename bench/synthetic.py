"""Synthetic stacks for the planning benchmark: N pipelines over 3 clusters, auth modes mixed.

Auth modes are mixed round-robin over every `AuthMode` (all of them are supported),
with the settings those modes need (as in the committed dev stack).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components.access import AuthMode
from infra import plan as offline_plan
from infra import settings as stack_settings

PROJECT = "airflow-atlas-identity"
ACCOUNT, REGION = "123456789012", "eu-west-1"


# Settings the okta-oidc and vault-dynamic modes need (as in the committed dev stack). Only keys
# the program declares (infra.settings.KEYS) are used, so the synthetic stack stays valid for the
# program as it is: without those modes, none of these is added.
MODE_SETTINGS: dict[str, dict[str, Any]] = {
    "okta-oidc": {
        "atlasFederationSettingsId": "6a1b2c3d4e5f60718293a4b5",
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
    modes = _modes()
    return modes[: min(pipelines, len(modes))]


def synthetic_values(pipelines: int) -> dict[str, Any]:
    """A valid stack (bare keys) with `pipelines` pipelines over 3 clusters, modes round-robin."""
    modes = _modes()
    clusters = [f"core-{c}" for c in range(3)]
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
        "atlasProjectId": "0123456789abcdef01234567",
        # One project raised to Atlas's documented maxima (components/limits.py) until the
        # estate spreads over projects.
        "atlasProjectLimits": {
            "0123456789abcdef01234567": {"databaseUsers": 900, "customRoles": 1400}
        },
        "atlasClusters": [{"name": c, "srvHost": f"{c}.ab1cd.mongodb.net"} for c in clusters],
        "pipelines": [
            {
                "name": f"pipeline-{i:04d}",
                "authMode": modes[i % len(modes)],
                "cluster": clusters[i % len(clusters)],
                "grants": [
                    {
                        "database": f"db{i % 7}",
                        "collections": ["orders", "order_items"],
                        "access": "read-write",
                    },
                    {"database": "reference", "collections": ["currencies"], "access": "read"},
                ],
            }
            for i in range(pipelines)
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
