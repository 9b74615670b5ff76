"""okta-oidc against real Airflow 3, moto (key secret, pipeline role) and a local Authlib
token endpoint that verifies the signed client assertion against the app's JWKS."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from tests.runtime.integration.conftest import Airflow, AwsWorld, backend_kwargs, moto_client
from tests.runtime.integration.services import free_port
from tests.runtime.integration.token_server import TokenServer

PIPELINE = "events-export"
CONN_ID = "mongo_events_export"
# A second copy of the planned definition whose token endpoint is down (test-only id).
DOWN_CONN_ID = "mongo_events_down"
TOKEN_SECONDS = 3


@dataclass(frozen=True)
class OktaWorld:
    server: TokenServer
    env: dict[str, str]
    private_key_pem: str
    client_id: str


@pytest.fixture(scope="module")
def okta(aws: AwsWorld, secrets_manager_env: dict[str, str]) -> Iterator[OktaWorld]:
    """The planned okta-oidc definition, with the token URL pointed at the local endpoint."""
    planned = copy.deepcopy(aws.plan["outputs"]["connectionDefinitions"][CONN_ID])
    runtime = planned["extra"]["atlas_identity"]
    client_id = runtime["client_id"]
    assert client_id == aws.plan["outputs"]["oktaClientIds"][PIPELINE]
    # The program generates P-256 keys (ES256); Okta would hold the public half in the app's
    # JWKS. The test makes its own pair, serves its JWKS and stores the document the program
    # stores, at the secret the plan names.
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = ECKey.import_key(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    kid = public.thumbprint()
    server = TokenServer(lifetime=TOKEN_SECONDS)
    server.register(
        client_id,
        {"keys": [public.as_dict(kid=kid, use="sig", alg="ES256")]},
        scope=runtime["scope"],
    )
    server.start(free_port())

    secrets = moto_client(aws.moto, "secretsmanager")
    secrets.create_secret(
        Name=runtime["private_key"]["secret_id"],
        SecretString=json.dumps({"kid": kid, "alg": "ES256", "private_key_pem": pem}),
    )
    kwargs = backend_kwargs(aws.plan)
    prefix = kwargs["connections_prefix"]
    runtime["token_url"] = server.token_url
    secrets.put_secret_value(SecretId=f"{prefix}/{CONN_ID}", SecretString=json.dumps(planned))
    down = copy.deepcopy(planned)
    down["extra"]["atlas_identity"]["token_url"] = (
        f"http://127.0.0.1:{free_port()}/oauth2/default/v1/token"
    )
    secrets.create_secret(Name=f"{prefix}/{DOWN_CONN_ID}", SecretString=json.dumps(down))
    # Only the test-only copy needs a wider pattern; the planned ids are in it already.
    assert re.match(kwargs["connections_lookup_pattern"], CONN_ID)
    kwargs["connections_lookup_pattern"] = (
        kwargs["connections_lookup_pattern"][:-2] + f"|{DOWN_CONN_ID})$"
    )
    yield OktaWorld(
        server=server,
        env={
            **secrets_manager_env,
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(kwargs),
            "IT_INTROSPECT_URL": f"{server.url}/introspect",
        },
        private_key_pem=pem,
        client_id=client_id,
    )
    server.stop()


def test_example_dag_installs_the_oidc_callback(airflow: Airflow, okta: OktaWorld) -> None:
    issued = okta.server.issued
    run = airflow.dags_test("atlas_okta_oidc_example", env=okta.env, conf={"dry_run": True})
    assert (run.state, run.failed_tasks) == ("success", ()), run.output[-4000:]
    assert run.xcom["export_events"] == {
        "conn_id": CONN_ID,
        "auth_mode": "okta-oidc",
        "mechanism": "MONGODB-OIDC",
        "source": "$external",
        "identity": okta.client_id,
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
    assert (run.state, run.failed_tasks) == ("success", ()), run.output[-4000:]
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
    assert run.failed_tasks == ("long_task",), run.output[-4000:]
    # Airflow masks every extra whose key contains "token", so the URL itself shows as ***.
    assert (
        f"connection '{DOWN_CONN_ID}': token endpoint failed: could not reach ***: ConnectionError"
        in run.task_log
    )
    assert run.seconds < 60
    assert okta.private_key_pem.splitlines()[1] not in run.task_log
    assert okta.private_key_pem.splitlines()[1] not in run.output
