"""Connection definitions for the auth modes the program does not emit yet.

TEMPORARY: the program emits only `aws-iam` today. These builders follow
docs/connection-contract.md field by field for `okta-oidc` and `vault-dynamic`; when the program
emits those modes, the tests switch to `outputs.connectionDefinitions` of the offline plan and
this module goes away.
"""

from __future__ import annotations

from typing import Any


def okta_oidc_definition(
    *,
    pipeline: str,
    host: str,
    schema: str,
    token_url: str,
    client_id: str,
    scope: str,
    key_id: str,
    private_key: dict[str, Any],
    role_arn: str,
    region: str,
) -> dict[str, Any]:
    return {
        "conn_type": "mongo",
        "host": host,
        "schema": schema,
        "extra": {
            "srv": True,
            "tls": True,
            "authMechanism": "MONGODB-OIDC",
            "authSource": "$external",
            "appname": f"airflow-{pipeline}",
            "atlas_identity": {
                "version": 1,
                "pipeline": pipeline,
                "auth_mode": "okta-oidc",
                "token_url": token_url,
                "client_id": client_id,
                "scope": scope,
                "key_id": key_id,
                "private_key": private_key,
                "role_arn": role_arn,
                "region": region,
            },
        },
    }


def vault_dynamic_definition(
    *,
    pipeline: str,
    host: str,
    schema: str,
    role_arn: str,
    region: str,
    session_seconds: int,
    vault: dict[str, str],
) -> dict[str, Any]:
    return {
        "conn_type": "mongo",
        "host": host,
        "schema": schema,
        "extra": {
            "srv": True,
            "tls": True,
            "authMechanism": "SCRAM-SHA-256",
            "authSource": "admin",
            "appname": f"airflow-{pipeline}",
            "atlas_identity": {
                "version": 1,
                "pipeline": pipeline,
                "auth_mode": "vault-dynamic",
                "role_arn": role_arn,
                "region": region,
                "session_seconds": session_seconds,
                "vault": vault,
            },
        },
    }
