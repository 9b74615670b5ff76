"""Compliant properties of every resource type the rules know, for tests to mutate.

Property names and shapes are the engine's (camelCase), as the plan JSON and the real policy
pack see them; numbers are floats because that is how the engine delivers integers.
"""

from __future__ import annotations

import json
from typing import Any

from policy.rules import ResourceView

ACCOUNT = "123456789012"
PROJECT = "0123456789abcdef01234567"
EXEC_ARN = f"arn:aws:iam::{ACCOUNT}:role/aai-t-mwaa-exec"
ENV_ARN = f"arn:aws:airflow:eu-west-1:{ACCOUNT}:environment/analytics-t"


def view(
    type_: str, props: dict[str, Any], *, name: str = "r", protect: bool = False
) -> ResourceView:
    return ResourceView(
        type=type_,
        urn=f"urn:pulumi:t::airflow-atlas-identity::{type_}::{name}",
        name=name,
        props=props,
        protect=protect,
    )


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
