"""AirflowConnections: secret-free definitions and backend options."""

from __future__ import annotations

import json
from typing import Any

from pulumi.runtime import rpc

from components.airflow.connections import (
    AirflowConnections,
    AirflowConnectionsArgs,
    connection_secret_policy,
)
from components.airflow.contract import ConnectionSpec, connection_definition
from devtools.offline import SECRET, mask_secrets
from model.access import AuthMode

ROLE_ARN = "arn:aws:iam::123456789012:role/aai-test-pipeline-orders-ingest"
SPEC = ConnectionSpec(
    connection_id="mongo_orders_ingest",
    pipeline="orders-ingest",
    auth_mode=AuthMode.AWS_IAM,
    host="core.ab1cd.mongodb.net",
    schema="sales",
    runtime={"role_arn": ROLE_ARN, "region": "eu-west-1", "session_seconds": 900},
)
EXPECTED_DEFINITION = {
    "conn_type": "mongo",
    "host": "core.ab1cd.mongodb.net",
    "schema": "sales",
    "extra": {
        "srv": True,
        "tls": True,
        "authMechanism": "MONGODB-AWS",
        "authSource": "$external",
        "appname": "airflow-orders-ingest",
        "atlas_identity": {
            "version": 2,
            "pipeline": "orders-ingest",
            "auth_mode": "aws-iam",
            "role_arn": ROLE_ARN,
            "region": "eu-west-1",
            "session_seconds": 900,
        },
    },
}


def args(**overrides: Any) -> AirflowConnectionsArgs:
    fields: dict[str, Any] = {
        "stack": "test",
        "region": "eu-west-1",
        "connections_prefix": "airflow/test/connections",
        "connections": (SPEC,),
        "reader_role_arn": "arn:aws:iam::123456789012:role/aai-test-mwaa-execution",
        "deployer_role_arn": "arn:aws:iam::123456789012:role/aai-test-github-deploy",
    }
    fields.update(overrides)
    return AirflowConnectionsArgs(**fields)


def test_definition_follows_the_contract() -> None:
    assert connection_definition(SPEC) == EXPECTED_DEFINITION


def test_secret_and_version_hold_the_definition(run_component: Any) -> None:
    run = run_component(lambda: AirflowConnections("airflow", args()))
    assert sorted((r.type, r.name) for r in run.monitor.registrations) == [
        ("airflow-atlas-identity:airflow:AirflowConnections", "airflow"),
        ("aws:secretsmanager/secret:Secret", "airflow-orders-ingest-connection"),
        ("aws:secretsmanager/secretPolicy:SecretPolicy", "airflow-orders-ingest-connection-policy"),
        (
            "aws:secretsmanager/secretVersion:SecretVersion",
            "airflow-orders-ingest-connection-version",
        ),
    ]
    policy = run.monitor.one(
        "aws:secretsmanager/secretPolicy:SecretPolicy", "airflow-orders-ingest-connection-policy"
    ).inputs
    assert policy["blockPublicPolicy"] is True
    assert policy["secretArn"].startswith(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:airflow/test/connections/mongo_orders_ingest-"
    )
    assert json.loads(policy["policy"]) == connection_secret_policy(
        reader="arn:aws:iam::123456789012:role/aai-test-mwaa-execution",
        deployer="arn:aws:iam::123456789012:role/aai-test-github-deploy",
    )
    secret = run.monitor.one("aws:secretsmanager/secret:Secret", "airflow-orders-ingest-connection")
    assert secret.inputs == {
        "name": "airflow/test/connections/mongo_orders_ingest",
        "description": "Airflow connection mongo_orders_ingest (test); holds no secret",
        "recoveryWindowInDays": 7,
        "tags": {"stack": "test", "pipeline": "orders-ingest"},
    }
    version = run.monitor.one(
        "aws:secretsmanager/secretVersion:SecretVersion", "airflow-orders-ingest-connection-version"
    )
    # The provider marks secret_string secret; the plan masks it, the definition is exported.
    assert mask_secrets(version.inputs["secretString"]) == SECRET
    assert json.loads(rpc.unwrap_rpc_secret(version.inputs["secretString"])) == EXPECTED_DEFINITION
    assert version.inputs["secretId"].startswith(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:airflow/test/connections/mongo_orders_ingest-"
    )


def test_customer_key_is_used_for_the_secret(run_component: Any) -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/4f1c2a3b-5d6e-4f70-8a9b-0c1d2e3f4a5b"
    run = run_component(lambda: AirflowConnections("airflow", args(kms_key_arn=key)))
    secret = run.monitor.one("aws:secretsmanager/secret:Secret", "airflow-orders-ingest-connection")
    assert secret.inputs["kmsKeyId"] == key


def test_configuration_options_send_only_our_ids_to_the_backend(run_component: Any) -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        second = ConnectionSpec(
            **{**SPEC.__dict__, "connection_id": "mongo_report", "pipeline": "report"}
        )
        component = AirflowConnections("airflow", args(connections=(SPEC, second)))
        component.configuration_options.apply(seen.update)

    run_component(program)
    assert seen["secrets.backend"] == (
        "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    )
    assert json.loads(seen["secrets.backend_kwargs"]) == {
        "connections_prefix": "airflow/test/connections",
        "connections_lookup_pattern": "^(mongo_orders_ingest|mongo_report)$",
        "variables_prefix": None,
        "config_prefix": None,
        "region_name": "eu-west-1",
    }


def test_variables_and_config_lookups_only_when_configured(run_component: Any) -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        component = AirflowConnections(
            "airflow",
            args(variables_prefix="airflow/test/variables", config_prefix="airflow/test/config"),
        )
        component.configuration_options.apply(seen.update)

    run_component(program)
    kwargs = json.loads(seen["secrets.backend_kwargs"])
    assert (kwargs["variables_prefix"], kwargs["config_prefix"]) == (
        "airflow/test/variables",
        "airflow/test/config",
    )
