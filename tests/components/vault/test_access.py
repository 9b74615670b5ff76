"""VaultAccess: exact engine, roles, logins, policies, audit and KV entries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime import rpc

from components.vault.access import (
    AtlasConnectionSpec,
    AwsLoginSpec,
    DatabaseEngineSpec,
    DatabaseRoleSpec,
    KvSpec,
    VaultAccess,
    VaultAccessArgs,
)
from components.vault.documents import (
    USERNAME_MAX_LENGTH,
    USERNAME_PREFIX,
    USERNAME_RANDOM_LENGTH,
    USERNAME_TEMPLATE,
    hcl_policy,
)
from devtools.offline import ProgramRun
from model.naming import Naming
from model.specs import AuditDevice
from model.sts import sts_endpoint

ROLE_ARN = "arn:aws:iam::123456789012:role/aai-test-pipeline-finance"
EXEC_ARN = "arn:aws:iam::123456789012:role/aai-test-mwaa-exec"
DEFINITION = {"conn_type": "mongo", "host": "core.ab1cd.mongodb.net", "schema": "finance"}


def args(*, kv: bool = True, protect: bool = True) -> VaultAccessArgs:
    return VaultAccessArgs(
        stack="test",
        naming=Naming(prefix="aai", stack="test"),
        audit_devices=(
            AuditDevice(type="file", options={"file_path": "/vault/audit/audit.log"}),
            AuditDevice(type="socket", options={"address": "collector:9090"}),
        ),
        aws_auth_mount="aai-test-aws",
        iam_server_id_header_value="vault.acme.internal",
        sts_region="eu-west-1",
        token_ttl=3600,
        aws_logins=(AwsLoginSpec(pipeline="finance", role_arn=ROLE_ARN),),
        database=DatabaseEngineSpec(
            mount="aai-test-atlas",
            connections=(
                AtlasConnectionSpec(
                    name="atlas",
                    project_id="0123456789abcdef01234567",
                    public_key="abcdefgh",
                    private_key="mock-private",
                ),
            ),
            default_ttl=900,
            max_ttl=3600,
            roles=(
                DatabaseRoleSpec(
                    pipeline="finance", custom_role="aai-test-finance", cluster="core"
                ),
            ),
        ),
        kv=KvSpec(
            mount="aai-test-airflow",
            connections_path="connections",
            # mongo_partner: an okta-oidc pipeline's definition; that pipeline has no Vault login.
            definitions={"mongo_finance": DEFINITION, "mongo_partner": DEFINITION},
            execution_role_arn=EXEC_ARN,
            airflow_auth_mount="aai-test-aws-airflow",
        )
        if kv
        else None,
        protect=protect,
    )


@pytest.fixture
def run(run_component: Any) -> ProgramRun:
    return run_component(lambda: VaultAccess("vault", args()))  # type: ignore[no-any-return]


def inputs(run: ProgramRun, type_token: str, name: str) -> dict[str, Any]:
    return run.monitor.one(type_token, name).inputs


def test_issued_usernames_keep_the_v_prefix_and_18_random_characters_in_20() -> None:
    """The plugin's default leaves 2 random characters (its `truncate 20` after a 15-character
    role name); ours: `v-` for the audit filter, then only Vault's `random`."""
    assert USERNAME_TEMPLATE == '{{ printf "v-%s" (random 18) }}'
    assert len(USERNAME_PREFIX) + USERNAME_RANDOM_LENGTH == USERNAME_MAX_LENGTH == 20
    assert USERNAME_RANDOM_LENGTH >= 16


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("eu-west-1", "https://sts.eu-west-1.amazonaws.com"),
        ("us-east-1", "https://sts.us-east-1.amazonaws.com"),
        ("cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_sts_endpoint_is_the_regions_own(region: str, endpoint: str) -> None:
    assert sts_endpoint(region) == endpoint


def test_hcl_policy_is_rendered_from_data_with_quoted_paths() -> None:
    assert hcl_policy([("a/b", ("read",)), ('odd"path', ("update",))]) == (
        'path "a/b" {\n  capabilities = ["read"]\n}\n\n'
        'path "odd\\"path" {\n  capabilities = ["update"]\n}\n'
    )


def test_policies_are_least_privilege_per_pipeline_and_for_airflow(run: ProgramRun) -> None:
    policies = {
        r.inputs["name"]: r.inputs["policy"]
        for r in run.monitor.by_type("vault:index/policy:Policy")
    }
    assert policies == {
        "aai-test-finance": hcl_policy(
            [
                ("aai-test-atlas/creds/finance", ["read"]),
                ("sys/leases/renew/aai-test-atlas/creds/finance/*", ["update"]),
                ("sys/leases/revoke/aai-test-atlas/creds/finance/*", ["update"]),
                ("aai-test-airflow/data/connections/mongo_finance", ["read"]),
            ]
        ),
        "aai-test-airflow-connections": hcl_policy(
            [("aai-test-airflow/data/connections/*", ["read"])]
        ),
    }


def test_database_engine_role_binds_exactly_the_custom_role_and_cluster(run: ProgramRun) -> None:
    mount = inputs(run, "vault:index/mount:Mount", "vault-database")
    assert mount == {
        "path": "aai-test-atlas",
        "type": "database",
        "description": "Short-lived MongoDB Atlas users (test)",
        "defaultLeaseTtlSeconds": 900,
        "maxLeaseTtlSeconds": 3600,
        # The issued user in clear in audit logs, for python -m audit_trail; the password stays
        # HMACed (tests/audit_trail/test_openbao_join.py shows both on OpenBao).
        "auditNonHmacResponseKeys": ["username"],
    }
    connection = run.monitor.one(
        "vault:database/secretBackendConnection:SecretBackendConnection", "vault-atlas-connection"
    ).inputs
    assert connection["pluginName"] == "mongodbatlas-database-plugin"
    assert connection["allowedRoles"] == ["finance"]
    assert rpc.is_rpc_secret(connection["mongodbatlas"])
    assert rpc.unwrap_rpc_secret(connection["mongodbatlas"]) == {
        "projectId": "0123456789abcdef01234567",
        "publicKey": "abcdefgh",
        "privateKey": "mock-private",
        "usernameTemplate": '{{ printf "v-%s" (random 18) }}',
    }
    role = inputs(
        run, "vault:database/secretBackendRole:SecretBackendRole", "vault-finance-db-role"
    )
    assert role == {
        "backend": "aai-test-atlas",
        "name": "finance",
        "dbName": "atlas",
        "creationStatements": [
            json.dumps(
                {
                    "database_name": "admin",
                    "roles": [{"databaseName": "admin", "roleName": "aai-test-finance"}],
                    "scopes": [{"name": "core", "type": "CLUSTER"}],
                }
            )
        ],
        "defaultTtl": 900,
        "maxTtl": 3600,
    }


def test_aws_logins_are_bound_to_exact_principals_with_replay_protection(run: ProgramRun) -> None:
    assert inputs(
        run, "vault:aws/authBackendClient:AuthBackendClient", "vault-aws-auth-client"
    ) == {
        "backend": "aai-test-aws",
        "iamServerIdHeaderValue": "vault.acme.internal",
        "stsEndpoint": "https://sts.eu-west-1.amazonaws.com",
        "stsRegion": "eu-west-1",
    }
    # The execution role's mount: no server-id header (VaultBackend cannot sign one); STS where
    # hvac's fixed Host points (tests/components/vault/test_aws_login_consistency.py signs it).
    assert inputs(
        run, "vault:aws/authBackendClient:AuthBackendClient", "vault-airflow-auth-client"
    ) == {
        "backend": "aai-test-aws-airflow",
        "stsEndpoint": "https://sts.amazonaws.com",
        "stsRegion": "us-east-1",
    }
    assert inputs(run, "vault:aws/authBackendRole:AuthBackendRole", "vault-finance-aws-login") == {
        "backend": "aai-test-aws",
        "role": "finance",
        "authType": "iam",
        "boundIamPrincipalArns": [ROLE_ARN],
        "resolveAwsUniqueIds": True,
        "tokenPolicies": ["aai-test-finance"],
        "tokenTtl": 3600,
        "tokenMaxTtl": 3600,
    }
    assert inputs(run, "vault:aws/authBackendRole:AuthBackendRole", "vault-airflow-login") == {
        "backend": "aai-test-aws-airflow",
        "role": "aai-test-airflow",
        "authType": "iam",
        "boundIamPrincipalArns": [EXEC_ARN],
        "resolveAwsUniqueIds": True,
        "tokenPolicies": ["aai-test-airflow-connections"],
        "tokenTtl": 3600,
        "tokenMaxTtl": 3600,
    }


def test_there_is_no_bearer_token_login(run: ProgramRun) -> None:
    """No JWT auth at all: an Okta token that Atlas sees must never become a Vault identity."""
    types = {r.type for r in run.monitor.registrations}
    assert [t for t in types if t.startswith("vault:jwt/")] == []
    backends = [
        r.inputs["type"] for r in run.monitor.by_type("vault:index/authBackend:AuthBackend")
    ]
    assert backends == ["aws", "aws"]


def test_kv_holds_versioned_definitions_and_no_keys(run: ProgramRun) -> None:
    assert inputs(run, "vault:index/mount:Mount", "vault-kv") == {
        "path": "aai-test-airflow",
        "type": "kv",
        "options": {"version": "2"},
        "description": "Airflow connection definitions (test), versioned",
    }
    entry = inputs(run, "vault:kv/secretV2:SecretV2", "vault-mongo_finance")
    assert (entry["mount"], entry["name"]) == ("aai-test-airflow", "connections/mongo_finance")
    assert json.loads(rpc.unwrap_rpc_secret(entry["dataJson"])) == DEFINITION
    entries = sorted(r.inputs["name"] for r in run.monitor.by_type("vault:kv/secretV2:SecretV2"))
    assert entries == ["connections/mongo_finance", "connections/mongo_partner"]


def test_audit_devices_one_per_type_and_protection(run: ProgramRun) -> None:
    audits = {r.name: r.inputs for r in run.monitor.by_type("vault:index/audit:Audit")}
    assert audits == {
        "vault-audit-file": {
            "type": "file",
            "path": "aai-test-file",
            "description": "Audit trail of stack test",
            "options": {"file_path": "/vault/audit/audit.log"},
        },
        "vault-audit-socket": {
            "type": "socket",
            "path": "aai-test-socket",
            "description": "Audit trail of stack test",
            "options": {"address": "collector:9090"},
        },
    }
    protected = sorted(r.name for r in run.monitor.registrations if r.protect)
    assert protected == [
        "vault-airflow-auth",
        "vault-audit-file",
        "vault-audit-socket",
        "vault-aws-auth",
        "vault-database",
        "vault-kv",
    ]


def test_nothing_is_protected_outside_prod(run_component: Any) -> None:
    run = run_component(lambda: VaultAccess("vault", args(protect=False)))
    assert [r.name for r in run.monitor.registrations if r.protect] == []


def test_without_kv_there_is_no_execution_role_access(run_component: Any) -> None:
    run = run_component(lambda: VaultAccess("vault", args(kv=False)))
    names = {r.name for r in run.monitor.registrations}
    assert "vault-kv" not in names
    assert "vault-airflow-login" not in names
    policies = {r.inputs["name"] for r in run.monitor.by_type("vault:index/policy:Policy")}
    assert policies == {"aai-test-finance"}
