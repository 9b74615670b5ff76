"""The committed stack files, planned offline: a broken Pulumi.<stack>.yaml fails CI."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from components.wiring import AWAITING_WORKLOAD_IDP
from devtools import plan as offline_plan
from infra import settings as stack_settings
from model import access
from tests.conftest import CommittedPlans, plan_stack
from tests.stacks_discovery import STACKS, stack_file

ROLE = "aws:iam/role:Role"
USER = "mongodbatlas:index/databaseUser:DatabaseUser"
CUSTOM_ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
SECRET = "aws:secretsmanager/secret:Secret"


@cache
def settings(stack: str) -> stack_settings.Settings:
    read = offline_plan.read_stack_file(stack_file(stack))
    return stack_settings.parse(read.project_values(), project=read.project, stack=stack)


def resources(plan: dict[str, Any], type_token: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_token]


def test_committed_stacks_are_realistic() -> None:
    for stack in STACKS:
        pipelines = settings(stack).wiring.pipelines
        assert len(pipelines) >= 3, stack
        assert len({g.database for p in pipelines for g in p.grants}) >= 2, stack


def test_prod_is_stricter_than_dev() -> None:
    dev, prod = settings("dev"), settings("prod")
    assert (dev.tier.value, prod.tier.value) == ("dev", "prod")
    assert prod.wiring.pipeline_session_seconds < dev.wiring.pipeline_session_seconds
    assert (prod.wiring.audit_authorization_success, prod.wiring.protect_stateful_resources) == (
        True,
        True,
    )
    assert prod.wiring.secrets_kms_key_arn is not None
    assert not any(g.is_wildcard for p in prod.wiring.pipelines for g in p.grants)


@pytest.mark.parametrize("stack", STACKS)
def test_no_database_user_has_a_password(stack: str, committed_plans: CommittedPlans) -> None:
    users = resources(committed_plans[stack], USER)
    assert users
    for user in users:
        assert "password" not in user["inputs"], user["urn"]
        assert "passwordWo" not in user["inputs"], user["urn"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_aws_iam_pipeline_is_wired_end_to_end(
    stack: str, committed_plans: CommittedPlans
) -> None:
    """Role, custom role, IAM database user and connection secret, consistently named."""
    result = committed_plans[stack]
    wiring = settings(stack).wiring
    roles = {r["inputs"]["tags"].get("pipeline"): r for r in resources(result, ROLE)}
    users = {u["inputs"]["username"]: u for u in resources(result, USER)}
    custom_roles = {c["inputs"]["roleName"]: c for c in resources(result, CUSTOM_ROLE)}
    secrets = {s["inputs"]["name"] for s in resources(result, SECRET)}
    role_arns = result["outputs"]["pipelineRoleArns"]
    iam_pipelines = [p for p in wiring.pipelines if p.auth_mode is access.AuthMode.AWS_IAM]
    assert iam_pipelines
    for pipeline in iam_pipelines:
        role = roles[pipeline.name]
        arn = f"arn:aws:iam::{wiring.aws_account_id}:role/{role['inputs']['name']}"
        assert role_arns[pipeline.name] == arn
        assert role["inputs"]["path"] == "/"
        user = users[arn]["inputs"]
        assert (user["authDatabaseName"], user["awsIamType"]) == ("$external", "ROLE")
        assert user["roles"] == [
            {"roleName": wiring.naming.atlas_role(pipeline.name), "databaseName": "admin"}
        ]
        assert user["scopes"] == [{"name": pipeline.cluster, "type": "CLUSTER"}]
        assert wiring.naming.atlas_role(pipeline.name) in custom_roles
        if wiring.vault is None or not wiring.vault.secrets_backend:
            assert f"{wiring.connections_prefix}/{pipeline.connection_id}" in secrets


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_role_is_limited_to_its_grants(
    stack: str, committed_plans: CommittedPlans
) -> None:
    wiring = settings(stack).wiring
    custom_roles = {
        c["inputs"]["roleName"]: c["inputs"] for c in resources(committed_plans[stack], CUSTOM_ROLE)
    }
    assert len(custom_roles) == len(wiring.pipelines)
    for pipeline in wiring.pipelines:
        granted = {(p.action, p.database, p.collection) for p in access.privileges(pipeline)}
        declared = {
            (a["action"], r["databaseName"], r["collectionName"])
            for a in custom_roles[wiring.naming.atlas_role(pipeline.name)]["actions"]
            for r in a["resources"]
        }
        assert declared == granted, pipeline.name
        assert all(db not in access.RESERVED_DATABASES for _, db, _ in declared)


@pytest.mark.parametrize("stack", STACKS)
def test_connection_definitions_hold_no_secret_and_match_the_contract(
    stack: str, committed_plans: CommittedPlans
) -> None:
    result = committed_plans[stack]
    wiring = settings(stack).wiring
    definitions = result["outputs"]["connectionDefinitions"]
    assert set(definitions) == {p.connection_id for p in wiring.pipelines}
    for pipeline in wiring.pipelines:
        definition = definitions[pipeline.connection_id]
        assert set(definition) == {"conn_type", "host", "schema", "extra"}
        assert "login" not in definition
        assert "password" not in definition
        assert definition["host"] == wiring.cluster_hosts[pipeline.cluster]
        assert definition["schema"] == pipeline.default_database
        assert definition["extra"]["tls"] is True
        runtime = definition["extra"]["atlas_identity"]
        assert runtime["auth_mode"] == pipeline.auth_mode.value
        assert runtime["role_arn"] == result["outputs"]["pipelineRoleArns"][pipeline.name]
        assert "private_key_pem" not in json.dumps(definition)


def test_both_secrets_backends_appear_across_the_committed_stacks(
    committed_plans: CommittedPlans,
) -> None:
    backends = {
        committed_plans[stack]["outputs"]["airflowConfigurationOptions"]["secrets.backend"]
        for stack in STACKS
    }
    assert backends == {
        "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
        "airflow.providers.hashicorp.secrets.vault.VaultBackend",
    }


def served_key_set(plan: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """The keys of the planned S3 object that `url` names (components/okta/jwks.py)."""
    (served,) = [
        r
        for r in resources(plan, "aws:s3/bucketObjectv2:BucketObjectv2")
        if url.startswith(f"https://{r['inputs']['bucket']}.s3.")
        and url.endswith(f".amazonaws.com/{r['inputs']['key']}")
    ]
    keys: list[dict[str, Any]] = json.loads(served["inputs"]["content"])["keys"]
    return keys


def test_vault_backend_reads_only_through_the_execution_role_login(
    committed_plans: CommittedPlans,
) -> None:
    options = committed_plans["prod"]["outputs"]["airflowConfigurationOptions"]
    assert json.loads(options["secrets.backend_kwargs"]) == {
        "url": "https://vault.acme.internal:8200",
        "auth_type": "aws_iam",
        "auth_mount_point": "aai-prod-aws-airflow",
        "role_id": "aai-prod-airflow",
        "region": "us-east-1",  # hvac signs the global endpoint (model/sts.py)
        "mount_point": "aai-prod-airflow",
        "kv_engine_version": 2,
        "connections_path": "connections",
        "variables_path": None,
        "config_path": None,
    }
    assert (
        resources(committed_plans["prod"], SECRET) == []
    )  # nothing in Secrets Manager: Vault holds it all


@pytest.mark.parametrize("stack", ["dev"])
def test_lookup_pattern_matches_exactly_the_stacks_connection_ids(
    stack: str, committed_plans: CommittedPlans
) -> None:
    options = committed_plans[stack]["outputs"]["airflowConfigurationOptions"]
    kwargs = json.loads(options["secrets.backend_kwargs"])
    ids = set(committed_plans[stack]["outputs"]["connectionIds"].values())
    pattern = re.compile(kwargs["connections_lookup_pattern"], re.IGNORECASE)  # as Airflow does
    assert all(pattern.match(i) for i in ids)
    for other in ("aws_default", "mongo_default", "smtp_default", "mongo_orders"):
        assert not pattern.match(other)
    assert (kwargs["variables_prefix"], kwargs["config_prefix"]) == (None, None)


@pytest.mark.parametrize("stack", STACKS)
def test_prod_protects_state_that_would_lose_history(
    stack: str, committed_plans: CommittedPlans
) -> None:
    protected = {r["type"] for r in committed_plans[stack]["resources"] if r["protect"]}
    if stack == "prod":
        assert protected == {
            "mongodbatlas:index/auditing:Auditing",
            "aws:mwaa/environment:Environment",
            "vault:index/mount:Mount",
            "vault:index/authBackend:AuthBackend",
            "vault:index/audit:Audit",
        }
        mounts = resources(committed_plans[stack], "vault:index/mount:Mount")
        assert {m["inputs"]["type"] for m in mounts if m["protect"]} == {"database", "kv"}
    else:
        assert protected == set()


# Things that look like credentials: AWS access keys, PEM private keys, JWTs, URIs with userinfo.
CREDENTIAL = re.compile(
    r"AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|"
    r"eyJ[\w-]+\.eyJ[\w-]+\.|mongodb(\+srv)?://[^/@\s]+:[^/@\s]+@"
)


@pytest.mark.parametrize("stack", STACKS)
def test_plan_contains_nothing_that_looks_like_a_credential(
    stack: str, committed_plans: CommittedPlans
) -> None:
    text = json.dumps(committed_plans[stack])
    assert CREDENTIAL.search(text) is None
    assert CREDENTIAL.search(stack_file(stack).read_text()) is None


@pytest.mark.parametrize("stack", STACKS)
def test_planning_twice_gives_the_same_plan(stack: str, committed_plans: CommittedPlans) -> None:
    assert plan_stack(stack) == committed_plans[stack]


OKTA_APP = "okta:app/oAuth:OAuth"
IDP = "mongodbatlas:index/federatedSettingsIdentityProvider:FederatedSettingsIdentityProvider"


@pytest.mark.parametrize("stack", STACKS)
def test_every_okta_pipeline_is_wired_end_to_end(
    stack: str, committed_plans: CommittedPlans
) -> None:
    """Service app with private_key_jwt + JWKS, OIDC user {idp}/{client id}, and the export the
    org stack creates the workload IdP from (tests/stacks/test_org_stack.py checks the copy)."""
    result = committed_plans[stack]
    wiring = settings(stack).wiring
    assert wiring.okta is not None
    okta_pipelines = [p for p in wiring.pipelines if p.auth_mode is access.AuthMode.OKTA_OIDC]
    assert okta_pipelines
    (server,) = resources(result, "okta:auth/server:Server")
    assert resources(result, IDP) == []
    assert server["inputs"]["audiences"] == [wiring.okta.audience]
    assert result["outputs"]["atlasWorkloadIdp"] == {
        "stack": stack,
        "name": wiring.naming.atlas_workload_idp(),
        "issuerUri": result["outputs"]["oktaIssuer"],
        "audience": wiring.okta.audience,
    }
    idp_id = wiring.okta.atlas_workload_idp_id
    users = {u["inputs"]["username"]: u["inputs"] for u in resources(result, USER)}
    if idp_id is None:
        # Merged before the org stack created its IdP: no OIDC user yet, and the access
        # matrix says so instead of naming one.
        assert [u for u in users.values() if u.get("oidcAuthType")] == []
        identities = {row["pipeline"]: row["identity"] for row in result["outputs"]["accessMatrix"]}
        assert {identities[p.name] for p in okta_pipelines} == {AWAITING_WORKLOAD_IDP}
        return
    (rule,) = resources(result, "okta:auth/serverPolicyRule:ServerPolicyRule")
    assert rule["inputs"]["accessTokenLifetimeMinutes"] == wiring.okta.token_lifetime_minutes
    assert rule["inputs"]["grantTypeWhitelists"] == ["client_credentials"]
    assert rule["inputs"]["scopeWhitelists"] == [wiring.okta.scope]
    apps = {a["inputs"]["label"]: a["inputs"] for a in resources(result, OKTA_APP)}
    (policy,) = resources(result, "okta:auth/serverPolicy:ServerPolicy")
    client_ids = result["outputs"]["oktaClientIds"]
    assert sorted(policy["inputs"]["clientWhitelists"]) == sorted(client_ids.values())
    for pipeline in okta_pipelines:
        app = apps[f"{wiring.naming.base}-{pipeline.name}"]
        assert app["tokenEndpointAuthMethod"] == "private_key_jwt"
        assert app["grantTypes"] == ["client_credentials"]
        assert "clientBasicSecret" not in app
        served = served_key_set(result, app["jwksUri"])
        assert [k["kty"] for k in served] == ["EC", "EC"]
        user = users[f"{idp_id}/{client_ids[pipeline.name]}"]
        assert (user["authDatabaseName"], user["oidcAuthType"]) == ("$external", "USER")
        assert user["roles"] == [
            {"roleName": wiring.naming.atlas_role(pipeline.name), "databaseName": "admin"}
        ]
        assert user["scopes"] == [{"name": pipeline.cluster, "type": "CLUSTER"}]
        runtime = result["outputs"]["connectionDefinitions"][pipeline.connection_id]["extra"][
            "atlas_identity"
        ]
        assert runtime["client_id"] == client_ids[pipeline.name]
        assert runtime["token_url"] == result["outputs"]["oktaIssuer"] + "/v1/token"
        # Whatever the secrets backend, the key is a KMS key of this pipeline, published in
        # the key set its app's `jwks_uri` names, and the role signing with it is the pipeline's.
        assert runtime["signing_key"]["alg"] == "ES256"
        assert runtime["signing_key"]["kid"] in [k["kid"] for k in served]
        assert runtime["role_arn"] == result["outputs"]["pipelineRoleArns"][pipeline.name]
        (grant,) = [
            r
            for r in resources(result, "aws:iam/rolePolicy:RolePolicy")
            if r["name"].endswith(f"-{pipeline.name}-sign-policy")
        ]
        assert (
            runtime["signing_key"]["kms_key_arn"]
            in json.loads(grant["inputs"]["policy"])["Statement"][0]["Resource"]
        )


@pytest.mark.parametrize("stack", STACKS)
def test_no_okta_key_material_anywhere_in_the_plan(
    stack: str, committed_plans: CommittedPlans
) -> None:
    """Okta keys live in KMS: no generated key, no key secret, no key in Vault KV."""
    result = committed_plans[stack]
    assert resources(result, "tls:index/privateKey:PrivateKey") == []
    names = [r["name"] for r in result["resources"]]
    assert [n for n in names if "signing-key" in n or "okta-keys" in n] == []
    text = json.dumps(result)
    assert "PRIVATE KEY" not in text
    assert "okta-keys" not in text
    keys = resources(result, "aws:kms/key:Key")
    okta_pipelines = [
        p for p in settings(stack).wiring.pipelines if p.auth_mode is access.AuthMode.OKTA_OIDC
    ]
    assert len(keys) == 2 * len(okta_pipelines)
    assert {k["inputs"]["customerMasterKeySpec"] for k in keys} == {"ECC_NIST_P256"}
    assert {k["inputs"]["deletionWindowInDays"] for k in keys} == {7}


DB_ROLE = "vault:database/secretBackendRole:SecretBackendRole"
AWS_LOGIN = "vault:aws/authBackendRole:AuthBackendRole"


@pytest.mark.parametrize("stack", STACKS)
def test_every_vault_dynamic_pipeline_has_its_role_login_and_policy(
    stack: str, committed_plans: CommittedPlans
) -> None:
    result = committed_plans[stack]
    wiring = settings(stack).wiring
    assert wiring.vault is not None
    dynamic = [p for p in wiring.pipelines if p.auth_mode is access.AuthMode.VAULT_DYNAMIC]
    assert dynamic
    db_roles = {r["inputs"]["name"]: r["inputs"] for r in resources(result, DB_ROLE)}
    logins = {r["inputs"]["role"]: r["inputs"] for r in resources(result, AWS_LOGIN)}
    policies = result["outputs"]["vaultPolicies"]
    for pipeline in dynamic:
        role = db_roles[pipeline.name]
        assert [json.loads(c) for c in role["creationStatements"]] == [
            {
                "database_name": "admin",
                "roles": [
                    {"databaseName": "admin", "roleName": wiring.naming.atlas_role(pipeline.name)}
                ],
                "scopes": [{"name": pipeline.cluster, "type": "CLUSTER"}],
            }
        ]
        assert (role["defaultTtl"], role["maxTtl"]) == (
            wiring.vault.default_ttl,
            wiring.vault.max_ttl,
        )
        assert role["defaultTtl"] <= role["maxTtl"]
        login = logins[pipeline.name]
        assert login["boundIamPrincipalArns"] == [
            result["outputs"]["pipelineRoleArns"][pipeline.name]
        ]
        assert login["tokenPolicies"] == [f"{wiring.naming.base}-{pipeline.name}"]
        # A dynamic credential dies with the token that requested it.
        assert login["tokenTtl"] >= role["maxTtl"]
        assert login["tokenMaxTtl"] >= role["maxTtl"]
        assert (
            f'path "{wiring.naming.base}-atlas/creds/{pipeline.name}"'
            in policies[login["tokenPolicies"][0]]
        )
    audits = resources(result, "vault:index/audit:Audit")
    assert sorted(a["inputs"]["type"] for a in audits) == sorted(
        d.type for d in wiring.vault.audit_devices
    )
    (key,) = resources(result, "mongodbatlas:index/projectApiKey:ProjectApiKey")
    assert key["inputs"]["projectAssignments"] == [
        {"projectId": wiring.atlas_project_id, "roleNames": ["GROUP_DATABASE_ACCESS_ADMIN"]}
    ]
    access_list = resources(result, "mongodbatlas:index/accessListApiKey:AccessListApiKey")
    assert sorted(
        e["inputs"].get("ipAddress") or e["inputs"]["cidrBlock"] for e in access_list
    ) == sorted(wiring.vault.api_key_access_list)
    (connection,) = resources(
        result, "vault:database/secretBackendConnection:SecretBackendConnection"
    )
    assert connection["inputs"]["mongodbatlas"] == "[secret]"
    assert connection["inputs"]["allowedRoles"] == [p.name for p in dynamic]
