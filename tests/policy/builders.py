"""Compliant properties of every resource type the rules know, for tests to mutate, and the
plan JSON (`python -m infra.plan --json`) that holds them.

Property names and shapes are the engine's (camelCase), as the plan JSON and the real policy
pack see them; numbers are floats because that is how the engine delivers integers. Names and
values are as in the dev stack, with the stack called `t` (`aai-t-...`).
"""

from __future__ import annotations

import json
from typing import Any

from policy.rules import ResourceView

PLAN_PROJECT = "airflow-atlas-identity"
STACK = "t"
ACCOUNT = "123456789012"
PROJECT = "0123456789abcdef01234567"
EXEC_ARN = f"arn:aws:iam::{ACCOUNT}:role/aai-t-mwaa-exec"
ENV_ARN = f"arn:aws:airflow:eu-west-1:{ACCOUNT}:environment/analytics-t"
OKTA_ISSUER = "https://acme.okta.com/oauth2/aus1"


def urn(type_: str, name: str, parents: tuple[str, ...] = ()) -> str:
    """A URN names its parents' types before its own: `...::<parent>$<type>::<name>`."""
    return f"urn:pulumi:{STACK}::{PLAN_PROJECT}::{'$'.join((*parents, type_))}::{name}"


def view(
    type_: str, props: dict[str, Any], *, name: str = "r", protect: bool = False
) -> ResourceView:
    return ResourceView(
        type=type_,
        urn=urn(type_, name),
        name=name,
        props=props,
        protect=protect,
    )


def planned(
    type_: str,
    props: dict[str, Any],
    *,
    name: str,
    protect: bool = False,
    parents: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One resource as the offline plan JSON lists it (docs/plan-format.md)."""
    return {
        "urn": urn(type_, name, parents),
        "type": type_,
        "name": name,
        "parent": urn(parents[-1], "parent", parents[:-1]) if parents else None,
        "custom": True,
        "protect": protect,
        "inputs": props,
    }


def plan(*resources: dict[str, Any], **outputs: Any) -> dict[str, Any]:
    """A plan of exactly these resources and stack exports (`tier` dev unless given)."""
    return {
        "project": PLAN_PROJECT,
        "stack": STACK,
        "resources": list(resources),
        "outputs": {"tier": "dev", **outputs},
    }


def without(props: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in keys}


def atlas_iam_user() -> dict[str, Any]:
    return {
        "projectId": PROJECT,
        "username": f"arn:aws:iam::{ACCOUNT}:role/aai-t-pipeline-orders",
        "authDatabaseName": "$external",
        "awsIamType": "ROLE",
        "roles": [{"roleName": "aai-t-orders", "databaseName": "admin"}],
        "scopes": [{"name": "core", "type": "CLUSTER"}],
    }


def atlas_oidc_user() -> dict[str, Any]:
    return {
        **without(atlas_iam_user(), "awsIamType"),
        "username": "66aa00bb11cc22dd33ee44ff/0oa1events",
        "oidcAuthType": "USER",
    }


def creation_statement(**overrides: Any) -> str:
    document: dict[str, Any] = {
        "database_name": "admin",
        "roles": [{"databaseName": "admin", "roleName": "aai-t-reports"}],
        "scopes": [{"name": "core", "type": "CLUSTER"}],
    }
    document.update(overrides)
    return json.dumps({k: v for k, v in document.items() if v is not None})


def vault_db_role() -> dict[str, Any]:
    return {
        "backend": "database",
        "name": "reports",
        "dbName": "atlas",
        "creationStatements": [creation_statement()],
        "defaultTtl": 300.0,
        "maxTtl": 900.0,
    }


def vault_aws_role() -> dict[str, Any]:
    return {
        "backend": "aws",
        "role": "reports",
        "authType": "iam",
        "boundIamPrincipalArns": [f"arn:aws:iam::{ACCOUNT}:role/aai-t-pipeline-reports"],
        "tokenPolicies": ["reports"],
        "tokenTtl": 900.0,
        "tokenMaxTtl": 1800.0,
    }


def vault_jwt_role() -> dict[str, Any]:
    return {
        "backend": "jwt",
        "roleName": "events",
        "roleType": "jwt",
        "userClaim": "sub",
        "boundAudiences": ["api://atlas-t"],
        "boundSubject": "0oa1events",
        "tokenPolicies": ["events"],
        "tokenTtl": 600.0,
        "tokenMaxTtl": 900.0,
    }


def okta_rule() -> dict[str, Any]:
    return {
        "authServerId": "aus1",
        "policyId": "00p1",
        "name": "pipelines",
        "priority": 1.0,
        "grantTypeWhitelists": ["client_credentials"],
        "scopeWhitelists": ["atlas"],
        "accessTokenLifetimeMinutes": 15.0,
    }


def okta_app() -> dict[str, Any]:
    return {
        "label": "aai-t-events",
        "type": "service",
        "grantTypes": ["client_credentials"],
        "responseTypes": ["token"],
        "tokenEndpointAuthMethod": "private_key_jwt",
        "jwks": [{"kid": "events-1", "kty": "RSA", "e": "AQAB", "n": "u1x2"}],
    }


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def mwaa_trust(condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {
        "Sid": "MwaaService",
        "Effect": "Allow",
        "Principal": {"Service": ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]},
        "Action": "sts:AssumeRole",
    }
    statement["Condition"] = (
        {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": ENV_ARN},
        }
        if condition is None
        else condition
    )
    if not statement["Condition"]:
        del statement["Condition"]
    return policy_document(statement)


def airflow_options(**kwargs_overrides: Any) -> dict[str, str]:
    kwargs: dict[str, Any] = {
        "connections_prefix": "airflow/t/connections",
        "connections_lookup_pattern": "^(mongo_orders|mongo_events)$",
        "variables_prefix": None,
        "config_prefix": None,
        "region_name": "eu-west-1",
    }
    kwargs.update(kwargs_overrides)
    return {
        "secrets.backend": "airflow.providers.amazon.aws.secrets.secrets_manager."
        "SecretsManagerBackend",
        "secrets.backend_kwargs": json.dumps({k: v for k, v in kwargs.items() if v != "DROP"}),
    }


def atlas_auditing(**overrides: Any) -> dict[str, Any]:
    return {
        "projectId": PROJECT,
        "enabled": True,
        "auditAuthorizationSuccess": True,
        "auditFilter": json.dumps({"atype": "authenticate"}),
        **overrides,
    }


def atlas_custom_role() -> dict[str, Any]:
    return {
        "projectId": PROJECT,
        "roleName": "aai-t-orders",
        "actions": [
            {"action": "FIND", "resources": [{"databaseName": "sales", "collectionName": "orders"}]}
        ],
    }


def atlas_workload_idp() -> dict[str, Any]:
    return {
        "federationSettingsId": "6a1b2c3d4e5f60718293a4b5",
        "name": "aai-t-okta-workloads",
        "issuerUri": OKTA_ISSUER,
        "audience": "api://atlas-t",
        "idpType": "WORKLOAD",
        "protocol": "OIDC",
        "authorizationType": "USER",
        "userClaim": "sub",
    }


def atlas_org_config() -> dict[str, Any]:
    return {
        "federationSettingsId": "6a1b2c3d4e5f60718293a4b5",
        "orgId": "5f0e1d2c3b4a596877665544",
        "dataAccessIdentityProviderIds": ["3ce703249d6419dde643f823"],
        "domainRestrictionEnabled": False,
    }


def execution_role(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "aai-t-mwaa-exec",
        "assumeRolePolicy": mwaa_trust(),
        "maxSessionDuration": 3600.0,
        **overrides,
    }


def role_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    """The execution role's inline policy: by default, reading the stack's connections."""
    return {
        "name": "least-privilege",
        "role": "aai-t-mwaa-exec",
        "policy": policy_document(
            *statements
            or [
                {
                    "Sid": "ReadConnections",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:airflow/t/*",
                }
            ]
        ),
    }


def mwaa_environment() -> dict[str, Any]:
    """The provider marks the options secret: rules read the stack's export instead."""
    return {
        "name": "analytics-t",
        "airflowVersion": "3.0.6",
        "dagS3Path": "dags",
        "executionRoleArn": EXEC_ARN,
        "sourceBucketArn": "arn:aws:s3:::t-dags",
        "airflowConfigurationOptions": "[secret]",
    }


def okta_server() -> dict[str, Any]:
    return {
        "name": "aai-t-atlas",
        "audiences": ["api://atlas-t"],
        "issuerMode": "ORG_URL",
        "description": "Workload tokens for MongoDB Atlas (t)",
    }


def vault_audit(type_: str = "file", **options: str) -> dict[str, Any]:
    defaults = {
        "file": {"file_path": "/vault/audit/audit.log"},
        "socket": {"address": "audit-collector.t.internal:9090", "socket_type": "tcp"},
    }
    return {"type": type_, "options": {**defaults[type_], **options}}


def vault_mount(path: str, type_: str, **options: str) -> dict[str, Any]:
    props: dict[str, Any] = {"path": path, "type": type_}
    if options:
        props["options"] = options
    return props


def vault_aws_auth() -> dict[str, Any]:
    return {"path": "aws", "type": "aws"}


def vault_jwt_auth() -> dict[str, Any]:
    return {"path": "jwt", "oidcDiscoveryUrl": OKTA_ISSUER, "boundIssuer": OKTA_ISSUER}


def vault_db_connection() -> dict[str, Any]:
    return {
        "backend": "database",
        "name": "atlas",
        "pluginName": "mongodbatlas-database-plugin",
        "allowedRoles": ["reports"],
        "mongodbatlas": "[secret]",
        "verifyConnection": True,
    }


def vault_policy() -> dict[str, Any]:
    return {
        "name": "reports",
        "policy": 'path "database/creds/reports" {\n  capabilities = ["read"]\n}\n',
    }


def vault_kv_connection() -> dict[str, Any]:
    """A connection definition in KV v2: masked in the plan, measured by its stack export."""
    return {"mount": "airflow", "name": "connections/mongo_orders", "dataJson": "[secret]"}


def connection_definitions() -> dict[str, Any]:
    """The `connectionDefinitions` export: what the masked KV secrets hold."""
    return {
        "mongo_orders": {
            "conn_type": "mongo",
            "host": "core.ab1cd.mongodb.net",
            "schema": "sales",
            "extra": {
                "appname": "airflow-orders",
                "authMechanism": "MONGODB-AWS",
                "authSource": "$external",
                "srv": True,
                "tls": True,
            },
        }
    }
