"""Atlas projects are the unit of scale: a pipeline's role, user, auditing and Vault connection
live in the project of its cluster (`atlasClusters[].projectId`, default `atlasProjectId`)."""

from __future__ import annotations

import copy
from typing import Any

from pulumi.runtime import rpc

from devtools.offline import mask_secrets
from devtools.report import access_report

HOME = "0123456789abcdef01234567"
OTHER = "89abcdef0123456789abcdef"
ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
USER = "mongodbatlas:index/databaseUser:DatabaseUser"
AUDITING = "mongodbatlas:index/auditing:Auditing"
API_KEY = "mongodbatlas:index/projectApiKey:ProjectApiKey"
CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
DB_ROLE = "vault:database/secretBackendRole:SecretBackendRole"


def two_projects(base: dict[str, Any]) -> dict[str, Any]:
    """`core` in the home project, `finance` in another; a vault-dynamic pipeline in each."""
    config = copy.deepcopy(base)
    config["atlasClusters"] = [
        {"name": "core", "srvHost": "core.ab1cd.mongodb.net"},
        {"name": "finance", "srvHost": "finance.ab1cd.mongodb.net", "projectId": OTHER},
    ]
    pipelines = config["pipelines"]
    pipelines[0]["cluster"] = "core"
    pipelines[1]["cluster"] = "finance"
    grants = [{"database": "ledger", "collections": ["entries"], "access": "read"}]
    pipelines += [
        {"name": "recon-core", "authMode": "vault-dynamic", "cluster": "core", "grants": grants},
        {"name": "recon-fin", "authMode": "vault-dynamic", "cluster": "finance", "grants": grants},
    ]
    config.update(
        {
            "atlasOrgId": "5f0e1d2c3b4a596877665544",
            "vaultAddress": "https://vault.test.internal:8200",
            "vaultAudit": {"type": "file", "options": {"file_path": "/vault/audit.log"}},
            "atlasVaultApiKeyAccessList": ["10.0.0.0/24"],
        }
    )
    return config


def test_roles_users_and_auditing_live_in_the_project_of_the_cluster(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    m = run_stack(two_projects(base_config)).monitor
    assert {r.name: r.inputs["projectId"] for r in m.by_type(ROLE)} == {
        "identity-atlas-orders-ingest-role": HOME,
        "identity-atlas-revenue-report-role": OTHER,
        "identity-atlas-recon-core-role": HOME,
        "identity-atlas-recon-fin-role": OTHER,
    }
    assert {r.name: r.inputs["projectId"] for r in m.by_type(USER)} == {
        "identity-atlas-orders-ingest-iam-user": HOME,
        "identity-atlas-revenue-report-iam-user": OTHER,
    }
    audits = {r.name: r.inputs for r in m.by_type(AUDITING)}
    assert {name: inputs["projectId"] for name, inputs in audits.items()} == {
        "identity-atlas-auditing": HOME,
        f"identity-atlas-{OTHER}-auditing": OTHER,
    }
    # One filter for every project of the stack: it matches the stack's users by pattern.
    assert len({inputs["auditFilter"] for inputs in audits.values()}) == 1


def test_each_project_gets_its_own_vault_api_key_and_connection(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    m = run_stack(two_projects(base_config)).monitor
    keys = {r.name: r.inputs["projectAssignments"] for r in m.by_type(API_KEY)}
    assert keys == {
        "identity-atlas-vault-api-key": [
            {"projectId": HOME, "roleNames": ["GROUP_DATABASE_ACCESS_ADMIN"]}
        ],
        f"identity-atlas-{OTHER}-vault-api-key": [
            {"projectId": OTHER, "roleNames": ["GROUP_DATABASE_ACCESS_ADMIN"]}
        ],
    }
    connections = {r.name: r.inputs for r in m.by_type(CONNECTION)}
    assert {
        name: (c["name"], c["allowedRoles"], rpc.unwrap_rpc_secret(c["mongodbatlas"])["projectId"])
        for name, c in connections.items()
    } == {
        "identity-vault-atlas-connection": ("atlas", ["recon-core"], HOME),
        f"identity-vault-atlas-{OTHER}-connection": (f"atlas-{OTHER}", ["recon-fin"], OTHER),
    }
    assert {r.inputs["name"]: r.inputs["dbName"] for r in m.by_type(DB_ROLE)} == {
        "recon-core": "atlas",
        "recon-fin": f"atlas-{OTHER}",
    }


def test_the_access_report_groups_grants_by_project(
    run_stack: Any, base_config: dict[str, Any]
) -> None:
    run = run_stack(two_projects(base_config))
    plan = {
        "project": "airflow-atlas-identity",
        "stack": "test",
        "resources": [
            {"urn": r.urn, "type": r.type, "name": r.name, "inputs": mask_secrets(r.inputs)}
            for r in run.monitor.registrations
        ],
        "outputs": mask_secrets(run.outputs),
    }
    report = access_report(plan)
    body = report[report.index("## Who can do what") : report.index("## Identity chain")]
    sections = {
        block.split("`")[1]: {
            line.split(" | ")[0].lstrip("| ") for line in block.splitlines()[4:] if line
        }
        for block in body.split("### Atlas project ")[1:]
    }
    assert sections == {
        HOME: {"orders-ingest", "recon-core"},
        OTHER: {"revenue-report", "recon-fin"},
    }
