"""okta-oidc against real Airflow 3, moto (KMS keys, pipeline role) and a local Authlib token
endpoint that verifies the KMS-signed client assertion against the JWKS the program planned."""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.services.local import free_port
from tests.plans import runtime_it_plan_with_kms
from tests.runtime.integration.conftest import (
    REGION,
    Airflow,
    AwsWorld,
    backend_kwargs,
    moto_client,
)
from tests.runtime.integration.token_server import TokenServer

PIPELINE = "events-export"
CONN_ID = "mongo_events_export"
# A second copy of the planned definition whose token endpoint is down (test-only id).
DOWN_CONN_ID = "mongo_events_down"
TOKEN_SECONDS = 3
OKTA_APP = "okta:app/oAuth:OAuth"
JWKS_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


@dataclass(frozen=True)
class OktaWorld:
    server: TokenServer
    env: dict[str, str]
    client_id: str
    kms_key_arn: str


def planned_jwks(plan: dict[str, Any], pipeline: str) -> dict[str, Any]:
    """The JWK Set the program serves at the pipeline's Okta app `jwks_uri` (both slots)."""
    (app,) = [
        r
        for r in plan["resources"]
        if r["type"] == OKTA_APP and r["name"].endswith(f"{pipeline}-app")
    ]
    (served,) = [
        r
        for r in plan["resources"]
        if r["type"] == JWKS_OBJECT and app["inputs"]["jwksUri"].endswith(f"/{r['inputs']['key']}")
    ]
    jwks: dict[str, Any] = json.loads(served["inputs"]["content"])
    return jwks


@pytest.fixture(scope="module")
def kms_plan(aws: AwsWorld) -> dict[str, Any]:
    """The program's plan of the test stack with its KMS keys created in moto: the JWKS it plans
    is built from moto's public keys, and the definition names moto's key."""
    return runtime_it_plan_with_kms(aws.moto.url, REGION)


@pytest.fixture(scope="module")
def okta(
    aws: AwsWorld, kms_plan: dict[str, Any], secrets_manager_env: dict[str, str]
) -> Iterator[OktaWorld]:
    """The planned okta-oidc definition, with the token URL pointed at the local endpoint."""
    planned = copy.deepcopy(kms_plan["outputs"]["connectionDefinitions"][CONN_ID])
    runtime = planned["extra"]["atlas_identity"]
    client_id = runtime["client_id"]
    assert client_id == kms_plan["outputs"]["oktaClientIds"][PIPELINE]
    jwks = planned_jwks(kms_plan, PIPELINE)
    assert runtime["signing_key"]["kid"] in {k["kid"] for k in jwks["keys"]}
    server = TokenServer(lifetime=TOKEN_SECONDS)
    server.register(client_id, jwks, scope=runtime["scope"])
    server.start(free_port())

    secrets = moto_client(aws.moto, "secretsmanager")
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
        client_id=client_id,
        kms_key_arn=runtime["signing_key"]["kms_key_arn"],
    )
    server.stop()


def kms_signed_with(aws: AwsWorld) -> list[str]:
    """The KeyId of every kms:Sign call moto recorded."""
    key_ids = []
    for line in aws.moto.recording.read_text().splitlines():
        entry = json.loads(line)
        if entry["headers"].get("X-Amz-Target") == "TrentService.Sign":
            body = entry["body"]
            if entry["body_encoded"]:
                body = base64.b64decode(body).decode()
            key_ids.append(json.loads(body)["KeyId"])
    return key_ids


def test_example_dag_installs_the_oidc_callback(
    airflow: Airflow, aws: AwsWorld, okta: OktaWorld
) -> None:
    issued, signed = okta.server.issued, len(kms_signed_with(aws))
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
    # The token endpoint accepted the KMS-signed assertion (verified against the planned JWKS).
    assert okta.server.issued == issued + 1
    assert kms_signed_with(aws)[signed:] == [okta.kms_key_arn]


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
