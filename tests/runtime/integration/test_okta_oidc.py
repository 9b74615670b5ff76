"""okta-oidc against real Airflow 3, moto (key secret, pipeline role) and a local Authlib
token endpoint that verifies the signed client assertion against the app's JWKS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from tests.runtime.definitions import okta_oidc_definition
from tests.runtime.integration.conftest import Airflow, AwsWorld, backend_kwargs, moto_client
from tests.runtime.integration.services import free_port
from tests.runtime.integration.token_server import TokenServer

PIPELINE = "events-export"
CONN_ID = "mongo_events_export"
DOWN_CONN_ID = "mongo_events_down"
CLIENT_ID = "0oa-it-events-export"
ROLE_NAME = "aai-runtime-it-pipeline-events-export"
KEY_SECRET = "okta/runtime-it/events-export/private-key"
TOKEN_SECONDS = 3


@dataclass(frozen=True)
class OktaWorld:
    server: TokenServer
    env: dict[str, str]
    private_key_pem: str


@pytest.fixture(scope="module")
def okta(aws: AwsWorld, secrets_manager_env: dict[str, str]) -> Iterator[OktaWorld]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = RSAKey.import_key(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).as_dict(kid="it-key-1", use="sig", alg="RS256")
    server = TokenServer(lifetime=TOKEN_SECONDS)
    server.register(CLIENT_ID, {"keys": [public]}, scope="atlas")
    server.start(free_port())

    iam, secrets = moto_client(aws.moto, "iam"), moto_client(aws.moto, "secretsmanager")
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument="{}", MaxSessionDuration=3600)
    secrets.create_secret(Name=KEY_SECRET, SecretString=pem)
    kwargs = backend_kwargs(aws.plan)
    common: dict[str, Any] = {
        "pipeline": PIPELINE,
        "host": "core-it.x7k2p.mongodb.net",
        "schema": "events",
        "client_id": CLIENT_ID,
        "scope": "atlas",
        "key_id": "it-key-1",
        "private_key": {
            "backend": "aws-secrets-manager",
            "secret_id": KEY_SECRET,
            "region": "eu-west-1",
        },
        "role_arn": f"arn:aws:iam::123456789012:role/{ROLE_NAME}",
        "region": "eu-west-1",
    }
    for conn_id, token_url in (
        (CONN_ID, server.token_url),
        (DOWN_CONN_ID, f"http://127.0.0.1:{free_port()}/oauth2/default/v1/token"),
    ):
        secrets.create_secret(
            Name=f"{kwargs['connections_prefix']}/{conn_id}",
            SecretString=json.dumps(okta_oidc_definition(**common, token_url=token_url)),
        )
    # TEMPORARY: the program's lookup pattern lists only the ids it emits (aws-iam today).
    kwargs["connections_lookup_pattern"] = (
        kwargs["connections_lookup_pattern"][:-2] + f"|{CONN_ID}|{DOWN_CONN_ID})$"
    )
    yield OktaWorld(
        server=server,
        env={
            **secrets_manager_env,
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(kwargs),
            "IT_INTROSPECT_URL": f"{server.url}/introspect",
        },
        private_key_pem=pem,
    )
    server.stop()


def test_example_dag_installs_the_oidc_callback(airflow: Airflow, okta: OktaWorld) -> None:
    issued = okta.server.issued
    run = airflow.dags_test("atlas_okta_oidc_example", env=okta.env, conf={"dry_run": True})
    assert run.returncode == 0, run.output[-4000:]
    assert run.xcom["export_events"] == {
        "conn_id": CONN_ID,
        "auth_mode": "okta-oidc",
        "mechanism": "MONGODB-OIDC",
        "source": "$external",
        "identity": CLIENT_ID,
        "oidc_callback": "OktaOidcCallback",
    }
    # The token endpoint accepted the signed assertion (verified against the app's JWKS).
    assert okta.server.issued == issued + 1


def test_expired_tokens_are_replaced_when_the_server_asks_again(
    airflow: Airflow, okta: OktaWorld
) -> None:
    run = airflow.dags_test(
        "it_okta_oidc_expiry",
        env=okta.env,
        conf={"conn_id": CONN_ID, "run_seconds": 12},
        use_executor=True,
    )
    assert run.returncode == 0, run.output[-4000:]
    result = run.xcom["long_task"]
    # 12 s with 3 s tokens: at least 3 re-authentications, each with a new, active token.
    assert result["reauthentications"] >= 3
    assert result["inactive_after_fetch"] == 0
    assert result["minted"] == result["reauthentications"] + 1
    assert run.task_log.count("access token in use: ***") == result["minted"]
    assert run.task_log.count("in use: ") == result["minted"]
    assert okta.private_key_pem.splitlines()[1] not in run.task_log


def test_unreachable_token_endpoint_fails_fast_and_clearly(
    airflow: Airflow, okta: OktaWorld
) -> None:
    run = airflow.dags_test(
        "it_okta_oidc_expiry",
        env=okta.env,
        conf={"conn_id": DOWN_CONN_ID, "run_seconds": 1},
        use_executor=True,
    )
    assert run.returncode != 0
    # Airflow masks every extra whose key contains "token", so the URL itself shows as ***.
    assert (
        f"connection '{DOWN_CONN_ID}': token endpoint failed: could not reach ***: ConnectionError"
        in run.task_log
    )
    assert run.seconds < 60
    assert okta.private_key_pem.splitlines()[1] not in run.task_log
    assert okta.private_key_pem.splitlines()[1] not in run.output
