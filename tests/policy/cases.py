"""Plans for the offline check and the pack adapters: one compliant plan of every resource type
the rules inspect, and per rule the smallest plans that break it.

Each violating case holds the resource that breaks its rule (built from `builders`, changed in
one place) and only the compliant resources that rule needs around it (a user needs its project's
auditing, a Vault resource an audit device). `expect` lists `[rule, resource name]` pairs, sorted;
`""` is the stack as a whole. `test_offline_check.py` asserts the offline check finds exactly
these, `test_pack.py` that the pulumi_policy adapters report the same with the same messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.limits import (
    ATLAS_CUSTOM_ROLES_PER_USER,
    IAM_ROLE_INLINE_POLICIES,
    IAM_TRUST_POLICY,
    MWAA_OPTION_KEY,
    OKTA_APP_LABEL,
    OKTA_AUTH_SERVER_NAME,
    policy_characters,
)
from policy.rules.tokens import (
    ATLAS_AUDITING,
    ATLAS_CUSTOM_ROLE,
    ATLAS_IDENTITY_PROVIDER,
    ATLAS_ORG_CONFIG,
    ATLAS_USER,
    IAM_POLICY,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    MWAA_ENVIRONMENT,
    OKTA_OAUTH_APP,
    OKTA_POLICY_RULE,
    ORG_FEDERATION_COMPONENT,
    VAULT_AUDIT,
    VAULT_AUTH_BACKEND,
    VAULT_AWS_AUTH_ROLE,
    VAULT_DB_ROLE,
    VAULT_JWT_AUTH_BACKEND,
    VAULT_JWT_AUTH_ROLE,
    VAULT_MOUNT,
)
from tests.policy import builders as b

OKTA_SERVER = "okta:auth/server:Server"
VAULT_DB_CONNECTION = "vault:database/secretBackendConnection:SecretBackendConnection"
VAULT_POLICY = "vault:index/policy:Policy"
VAULT_KV_SECRET = "vault:kv/secretV2:SecretV2"
ENVIRONMENT_COMPONENTS = (
    "airflow-atlas-identity:index:Wiring",
    "airflow-atlas-identity:atlas:AtlasAccess",
)


@dataclass(frozen=True, kw_only=True)
class Case:
    name: str
    build: Callable[[], dict[str, Any]]
    """A fresh plan each call: tests may change it."""
    expect: list[list[str]]

    def plan(self) -> dict[str, Any]:
        return self.build()


# --- context a rule needs around the resource under test -----------------------------------------


def auditing(**overrides: Any) -> dict[str, Any]:
    return b.planned(ATLAS_AUDITING, b.atlas_auditing(**overrides), name="auditing", protect=True)


def iam_user(**changes: Any) -> dict[str, Any]:
    props = {**b.atlas_iam_user(), **changes}
    return b.planned(
        ATLAS_USER, {k: v for k, v in props.items() if v is not None}, name="orders-iam-user"
    )


def audit_device(type_: str = "file", **options: str) -> dict[str, Any]:
    name = "audit" if type_ == "file" else f"audit-{type_}"
    return b.planned(VAULT_AUDIT, b.vault_audit(type_, **options), name=name)


def vault_structure(*, protect: bool) -> list[dict[str, Any]]:
    """Prod's stateful Vault mounts and auth methods."""
    return [
        b.planned(VAULT_AUTH_BACKEND, b.vault_aws_auth(), name="aws-auth", protect=protect),
        b.planned(
            VAULT_MOUNT,
            b.vault_mount("database", "database"),
            name="database-mount",
            protect=protect,
        ),
        b.planned(
            VAULT_MOUNT,
            b.vault_mount("airflow", "kv", version="2"),
            name="kv-mount",
            protect=protect,
        ),
        b.planned(VAULT_JWT_AUTH_BACKEND, b.vault_jwt_auth(), name="jwt-auth", protect=protect),
    ]


def options(**kwargs_overrides: Any) -> dict[str, str]:
    return b.airflow_options(**kwargs_overrides)


def one_over(limit: int, document: Callable[[str], str]) -> str:
    """`document(padding)` padded to one character over `limit`, as IAM counts characters."""
    return document("x" * (limit + 1 - policy_characters(document(""))))


# --- the compliant plan --------------------------------------------------------------------------


def compliant() -> dict[str, Any]:
    """Every resource type some rule inspects, each compliant, in a prod stack (strictest tier)."""
    org = (ORG_FEDERATION_COMPONENT,)
    return b.plan(
        b.planned(
            ATLAS_IDENTITY_PROVIDER, b.atlas_workload_idp(), name="atlas-workload-idp", parents=org
        ),
        b.planned(ATLAS_ORG_CONFIG, b.atlas_org_config(), name="atlas-org-config", parents=org),
        b.planned(IAM_ROLE, b.execution_role(), name="execution-role"),
        b.planned(IAM_ROLE_POLICY, b.role_policy(), name="execution-policy"),
        b.planned(MWAA_ENVIRONMENT, b.mwaa_environment(), name="mwaa-environment", protect=True),
        auditing(),
        b.planned(ATLAS_CUSTOM_ROLE, b.atlas_custom_role(), name="orders-custom-role"),
        iam_user(),
        b.planned(ATLAS_USER, b.atlas_oidc_user(), name="events-oidc-user"),
        b.planned(OKTA_OAUTH_APP, b.okta_app(), name="events-app"),
        b.planned(OKTA_SERVER, b.okta_server(), name="atlas-server"),
        b.planned(OKTA_POLICY_RULE, b.okta_rule(), name="pipelines-rule"),
        b.planned(VAULT_AWS_AUTH_ROLE, b.vault_aws_role(), name="reports-aws-role"),
        b.planned(VAULT_JWT_AUTH_ROLE, b.vault_jwt_role(), name="events-jwt-role"),
        b.planned(VAULT_DB_CONNECTION, b.vault_db_connection(), name="atlas-connection"),
        b.planned(VAULT_DB_ROLE, b.vault_db_role(), name="reports-db-role"),
        b.planned(VAULT_POLICY, b.vault_policy(), name="reports-policy"),
        b.planned(VAULT_KV_SECRET, b.vault_kv_connection(), name="orders-connection"),
        audit_device("file"),
        audit_device("socket"),
        *vault_structure(protect=True),
        tier="prod",
        airflowConfigurationOptions=options(),
        connectionDefinitions=b.connection_definitions(),
    )


COMPLIANT = Case(name="compliant-all-systems", build=compliant, expect=[])


# --- one rule broken per case --------------------------------------------------------------------


def _too_many_roles() -> dict[str, Any]:
    roles = [
        {"databaseName": "admin", "roleName": f"aai-t-orders-{i:02d}"}
        for i in range(ATLAS_CUSTOM_ROLES_PER_USER.value + 1)
    ]
    return b.plan(
        auditing(),
        b.planned(ATLAS_USER, {**b.atlas_iam_user(), "roles": roles}, name="orders-user"),
    )


def _iam_over_quota() -> dict[str, Any]:
    """The execution role's inline policy and another role's trust policy, one character over."""
    connections = f"arn:aws:secretsmanager:eu-west-1:{b.ACCOUNT}:secret:airflow/t/"
    inline = one_over(
        IAM_ROLE_INLINE_POLICIES.value,
        lambda pad: b.role_policy(
            {
                "Sid": "ReadConnections",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": connections + pad,
            }
        )["policy"],
    )
    trust = one_over(
        IAM_TRUST_POLICY.value,
        lambda pad: b.policy_document(
            {
                "Sid": "Deployers" + pad,
                "Effect": "Allow",
                "Principal": {"AWS": b.EXEC_ARN},
                "Action": "sts:AssumeRole",
            }
        ),
    )
    return b.plan(
        b.planned(IAM_ROLE, b.execution_role(), name="execution-role"),
        b.planned(IAM_ROLE_POLICY, {**b.role_policy(), "policy": inline}, name="execution-policy"),
        b.planned(
            IAM_ROLE, {"name": "aai-t-deployer", "assumeRolePolicy": trust}, name="deployer-role"
        ),
    )


def _wildcards() -> dict[str, Any]:
    admin = b.policy_document({"Effect": "Allow", "Action": "*", "Resource": "*"})
    policy = b.role_policy(
        {
            "Sid": "ReadConnections",
            "Effect": "Allow",
            "Action": ["s3:*", "secretsmanager:GetSecretValue"],
            "Resource": "*",
        },
        {"Sid": "Everything", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
    )
    return b.plan(
        b.planned(IAM_POLICY, {"policy": admin}, name="admin-policy"),
        b.planned(IAM_ROLE_POLICY, policy, name="execution-policy"),
    )


def _org_resources_in_environment() -> dict[str, Any]:
    return b.plan(
        b.planned(
            ATLAS_IDENTITY_PROVIDER,
            b.atlas_workload_idp(),
            name="identity-atlas-workload-idp",
            parents=ENVIRONMENT_COMPONENTS,
        ),
        b.planned(
            ATLAS_ORG_CONFIG,
            b.atlas_org_config(),
            name="identity-atlas-org-config",
            parents=ENVIRONMENT_COMPONENTS,
        ),
    )


def _prod_unprotected() -> dict[str, Any]:
    return b.plan(
        b.planned(MWAA_ENVIRONMENT, b.mwaa_environment(), name="mwaa-environment"),
        b.planned(ATLAS_AUDITING, b.atlas_auditing(), name="auditing"),
        audit_device(),
        *vault_structure(protect=False),
        tier="prod",
        airflowConfigurationOptions=options(),
    )


def _vault_auth_roles_unbounded() -> dict[str, Any]:
    aws = {
        **b.vault_aws_role(),
        "boundIamPrincipalArns": [f"arn:aws:iam::{b.ACCOUNT}:role/*"],
        "tokenMaxTtl": 86400.0,
    }
    del aws["tokenTtl"]
    jwt = {
        **b.without(b.vault_jwt_role(), "roleType", "boundSubject"),
        "boundAudiences": ["*"],
        "tokenPeriod": 3600.0,
    }
    return b.plan(
        b.planned(VAULT_AWS_AUTH_ROLE, aws, name="reports-aws-role"),
        b.planned(VAULT_JWT_AUTH_ROLE, jwt, name="events-jwt-role"),
        audit_device(),
    )


def _vault_db_role_admin_long_ttl() -> dict[str, Any]:
    statement = b.creation_statement(
        roles=[{"databaseName": "admin", "roleName": "atlasAdmin"}], scopes=None
    )
    role = {
        **b.vault_db_role(),
        "creationStatements": [statement],
        "defaultTtl": 86400.0,
        "maxTtl": 7200.0,
    }
    return b.plan(
        b.planned(VAULT_DB_ROLE, role, name="reports-db-role"), audit_device(), auditing()
    )


def _okta_secret_app() -> dict[str, Any]:
    app = {
        **b.without(b.okta_app(), "jwks"),
        "tokenEndpointAuthMethod": "client_secret_basic",
        "clientBasicSecret": "[secret]",
    }
    return b.plan(b.planned(OKTA_OAUTH_APP, app, name="events-app"))


def _okta_names_too_long() -> dict[str, Any]:
    label = "aai-t-" + "x" * (OKTA_APP_LABEL.value + 1 - len("aai-t-"))
    server = "aai-t-" + "x" * (OKTA_AUTH_SERVER_NAME.value + 1 - len("aai-t-"))
    return b.plan(
        b.planned(OKTA_OAUTH_APP, {**b.okta_app(), "label": label}, name="events-app"),
        b.planned(OKTA_SERVER, {**b.okta_server(), "name": server}, name="atlas-server"),
    )


CASES: tuple[Case, ...] = (
    COMPLIANT,
    Case(
        name="atlas-audit-success-off-in-prod",
        build=lambda: b.plan(auditing(auditAuthorizationSuccess=False), tier="prod"),
        expect=[["atlas-audit-authorization-success", "auditing"]],
    ),
    Case(
        name="atlas-auditing-disabled",
        build=lambda: b.plan(iam_user(), auditing(enabled=False)),
        expect=[["atlas-auditing-enabled", ""], ["atlas-auditing-enabled", "auditing"]],
    ),
    Case(
        name="atlas-auditing-missing",
        build=lambda: b.plan(iam_user()),
        expect=[["atlas-auditing-enabled", ""]],
    ),
    Case(
        name="atlas-iam-user-wrong-auth-db",
        build=lambda: b.plan(iam_user(authDatabaseName="admin"), auditing()),
        expect=[["atlas-user-external-auth", "orders-iam-user"]],
    ),
    Case(
        name="atlas-org-resources-in-environment",
        build=_org_resources_in_environment,
        expect=[
            ["atlas-org-resources-owned-once", "identity-atlas-org-config"],
            ["atlas-org-resources-owned-once", "identity-atlas-workload-idp"],
        ],
    ),
    Case(
        name="atlas-password-user",
        build=lambda: b.plan(
            iam_user(awsIamType=None, authDatabaseName="admin", password="[secret]"), auditing()
        ),
        expect=[["atlas-user-no-password", "orders-iam-user"]] * 2,
    ),
    Case(
        name="atlas-user-too-many-roles",
        build=_too_many_roles,
        expect=[["atlas-project-limits", "orders-user"]],
    ),
    Case(
        name="atlas-user-unscoped-any-database-role",
        build=lambda: b.plan(
            iam_user(
                roles=[{"databaseName": "admin", "roleName": "readWriteAnyDatabase"}], scopes=None
            ),
            auditing(),
        ),
        expect=[["atlas-user-scoped", "orders-iam-user"]] * 2,
    ),
    Case(
        name="exported-options-loose-pattern-static-token",
        build=lambda: b.plan(
            airflowConfigurationOptions=options(connections_lookup_pattern=".*", token="[secret]")
        ),
        expect=[["mwaa-secrets-backend", ""]] * 2,
    ),
    Case(
        name="iam-policies-over-quota",
        build=_iam_over_quota,
        expect=[
            ["iam-policy-size-limits", "deployer-role"],
            ["iam-policy-size-limits", "execution-role"],
        ],
    ),
    Case(
        name="iam-wildcard-actions",
        build=_wildcards,
        expect=[
            ["iam-no-wildcard-actions", "admin-policy"],
            ["iam-no-wildcard-actions", "execution-policy"],
            ["iam-no-wildcard-actions", "execution-policy"],
        ],
    ),
    Case(
        name="mwaa-option-name-too-long",
        build=lambda: b.plan(
            airflowConfigurationOptions={
                **options(),
                "core." + "x" * (MWAA_OPTION_KEY.value + 1 - len("core.")): "True",
            }
        ),
        expect=[["mwaa-configuration-option-limits", ""]],
    ),
    Case(
        name="mwaa-options-without-lookup-pattern",
        build=lambda: b.plan(
            b.planned(
                MWAA_ENVIRONMENT, b.mwaa_environment(), name="mwaa-environment", protect=True
            ),
            airflowConfigurationOptions=options(connections_lookup_pattern="DROP"),
        ),
        expect=[["mwaa-secrets-backend", "mwaa-environment"]],
    ),
    Case(
        name="mwaa-trust-without-conditions",
        build=lambda: b.plan(
            b.planned(
                IAM_ROLE,
                b.execution_role(assumeRolePolicy=b.mwaa_trust(condition={})),
                name="execution-role",
            )
        ),
        expect=[["mwaa-trust-conditions", "execution-role"]] * 2,
    ),
    Case(
        name="okta-app-client-secret",
        build=_okta_secret_app,
        expect=[["okta-service-app-private-key-jwt", "events-app"]] * 3,
    ),
    Case(
        name="okta-names-too-long",
        build=_okta_names_too_long,
        expect=[["okta-name-limits", "atlas-server"], ["okta-name-limits", "events-app"]],
    ),
    Case(
        name="okta-rule-long-lifetime-implicit",
        build=lambda: b.plan(
            b.planned(
                OKTA_POLICY_RULE,
                {
                    **b.okta_rule(),
                    "grantTypeWhitelists": ["client_credentials", "implicit"],
                    "accessTokenLifetimeMinutes": 1440.0,
                },
                name="pipelines-rule",
            )
        ),
        expect=[["okta-policy-rule-limits", "pipelines-rule"]] * 2,
    ),
    Case(
        name="prod-stateful-unprotected",
        build=_prod_unprotected,
        expect=[
            ["prod-stateful-protected", "auditing"],
            ["prod-stateful-protected", "aws-auth"],
            ["prod-stateful-protected", "database-mount"],
            ["prod-stateful-protected", "jwt-auth"],
            ["prod-stateful-protected", "kv-mount"],
            ["prod-stateful-protected", "mwaa-environment"],
        ],
    ),
    Case(
        name="vault-audit-raw-unhashed",
        build=lambda: b.plan(audit_device(log_raw="true", hmac_accessor="false"), tier="prod"),
        expect=[["vault-audit-hashed", "audit"]] * 2,
    ),
    Case(
        name="vault-auth-roles-wildcards-unbounded",
        build=_vault_auth_roles_unbounded,
        expect=[["vault-auth-role-bound", "events-jwt-role"]] * 4
        + [["vault-auth-role-bound", "reports-aws-role"]] * 3,
    ),
    Case(
        name="vault-database-role-long-ttl-admin-user",
        build=_vault_db_role_admin_long_ttl,
        expect=[["atlas-user-scoped", "reports-db-role"]] * 2
        + [["vault-database-role-ttl", "reports-db-role"]] * 2,
    ),
    Case(
        name="vault-kv-secret-unmeasurable",
        build=lambda: b.plan(
            audit_device(),
            b.planned(VAULT_KV_SECRET, b.vault_kv_connection(), name="orders-connection"),
        ),
        expect=[["vault-storage-entry-limits", "orders-connection"]],
    ),
    Case(
        name="vault-without-audit-device",
        build=lambda: b.plan(
            b.planned(VAULT_DB_ROLE, b.vault_db_role(), name="reports-db-role"), auditing()
        ),
        expect=[["vault-audit-device", ""]],
    ),
)
CASES_BY_NAME = {case.name: case for case in CASES}


def write(case: Case, directory: Path) -> Path:
    """The case's plan as a JSON file, for the command line (returns its path)."""
    path = directory / f"{case.name}.plan.json"
    path.write_text(json.dumps(case.plan()))
    return path
