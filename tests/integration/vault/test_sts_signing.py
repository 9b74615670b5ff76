"""Every AWS login is signed for the STS endpoint its mount makes Vault call (no AWS needed).

An IAM login carries a signed `sts:GetCallerIdentity`; Vault sends it, Host header and signature
untouched, to the mount's `sts_endpoint` (Vault builtin/credential/aws/path_login.go,
buildHttpRequest), and STS there recomputes the SigV4 signature for its own region. So the login
works only if the credential scope's region is the region of `sts_endpoint` (= `sts_region`).

The logins are produced by the real clients under the planned settings: Airflow's stock
`VaultBackend` built from the plan's `secrets.backend_kwargs`, and the runtime's `AwsIamLogin`
built from a vault-dynamic connection definition; both sign with hvac's
`aws_utils.generate_sigv4_auth_request`/`SigV4Auth`. The verifier is botocore's SigV4Auth, the
signer AWS's own SDK uses, run over the request exactly as STS receives it.

hvac always signs Host `sts.amazonaws.com` (its request URL is fixed); Vault keeps that Host when
it calls the regional endpoint, as in apache/airflow#47470, whose fix (the `region` kwarg) relies
on it. The mount's endpoint host is asserted to be the scope region's own.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hvac
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests.adapters import BaseAdapter

from atlas_identity.aws import AssumedRoleCredentials, RunContext
from atlas_identity.contract import PipelineRole
from atlas_identity.vault import AwsIamLogin
from tests.conftest import CommittedPlans
from tests.stacks_discovery import STACKS

CLIENT = "vault:aws/authBackendClient:AuthBackendClient"
ACCESS_KEY, SECRET_KEY, SESSION_TOKEN = "ASIAEXAMPLE", "example-secret", "example-token"


class CaptureVault(BaseAdapter):
    """A requests transport that records the login and answers like Vault."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert isinstance(request.body, bytes)
        self.bodies.append(json.loads(request.body))
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(
            {"auth": {"client_token": "t", "lease_duration": 60}}
        ).encode()
        response.headers["Content-Type"] = "application/json"
        response.request = request
        return response

    def close(self) -> None:
        pass


def sts_accepts(login: dict[str, Any], *, region: str) -> bool:
    """Whether STS in `region` computes the signature the login carries (botocore SigV4)."""
    url = base64.b64decode(login["iam_request_url"]).decode()
    headers = {
        k: v[0] for k, v in json.loads(base64.b64decode(login["iam_request_headers"])).items()
    }
    authorization = headers["Authorization"]
    signed = set(re.findall(r"SignedHeaders=([^,]+)", authorization)[0].split(";"))
    request = AWSRequest(
        method=login["iam_http_request_method"],
        url=url,
        data=base64.b64decode(login["iam_request_body"]).decode(),
        headers={k: v for k, v in headers.items() if k.lower() in signed},
    )
    request.context["timestamp"] = headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN), "sts", region)
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    expected = signer.signature(string_to_sign, request)
    return bool(re.search(rf"Signature={expected}$", authorization))


def scope_region(login: dict[str, Any]) -> str:
    headers = json.loads(base64.b64decode(login["iam_request_headers"]))
    (region,) = re.findall(
        r"Credential=[^/]+/\d{8}/([^/]+)/sts/aws4_request", headers["Authorization"][0]
    )
    return str(region)


def mount_client(plan: dict[str, Any], mount: str) -> dict[str, Any]:
    (client,) = [
        r["inputs"]
        for r in plan["resources"]
        if r["type"] == CLIENT and r["inputs"]["backend"] == mount
    ]
    return dict(client)


def assert_verified_where_sent(login: dict[str, Any], client: dict[str, Any]) -> None:
    region = client["stsRegion"]
    assert scope_region(login) == region
    assert urlsplit(client["stsEndpoint"]).hostname == f"sts.{region}.amazonaws.com"
    assert sts_accepts(login, region=region)
    # The verifier can fail: the global endpoint's region does not accept this login.
    assert region != "us-east-1"
    assert not sts_accepts(login, region="us-east-1")


class Sts:
    """STS for AssumeRole: the pipeline role's (static, example) credentials."""

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "Credentials": {
                "AccessKeyId": ACCESS_KEY,
                "SecretAccessKey": SECRET_KEY,
                "SessionToken": SESSION_TOKEN,
                "Expiration": datetime.now(UTC) + timedelta(hours=1),
            },
            "AssumedRoleUser": {"Arn": f"{kwargs['RoleArn']}/s"},
        }


def backend_kwargs(plan: dict[str, Any]) -> dict[str, Any] | None:
    options = plan["outputs"]["airflowConfigurationOptions"]
    if options["secrets.backend"] != "airflow.providers.hashicorp.secrets.vault.VaultBackend":
        return None
    raw = options["secrets.backend_kwargs"]
    return dict(raw["__json__"]) if isinstance(raw, dict) else dict(json.loads(raw))


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Static credentials and a region the plan does not use: the kwargs must decide."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    if "airflow" not in sys.modules:  # keep Airflow's files out of the user's home
        os.environ.setdefault("AIRFLOW_HOME", str(tmp_path / "airflow"))


def test_prod_uses_vault_as_airflows_backend(committed_plans: CommittedPlans) -> None:
    assert backend_kwargs(committed_plans["prod"]) is not None


@pytest.mark.parametrize("stack", STACKS)
def test_airflows_vault_backend_login_is_verified_by_the_sts_its_mount_calls(
    stack: str, committed_plans: CommittedPlans, aws_environment: None
) -> None:
    plan = committed_plans[stack]
    kwargs = backend_kwargs(plan)
    if kwargs is None:
        assert not [r for r in plan["resources"] if r["type"] == CLIENT and "airflow" in r["name"]]
        return
    from airflow.providers.hashicorp.secrets.vault import VaultBackend

    capture = CaptureVault()
    session = requests.Session()
    session.mount("https://", capture)
    backend = VaultBackend(**kwargs, session=session)
    assert backend.vault_client.client is not None  # logs in
    (login,) = capture.bodies
    assert login["role"] == kwargs["role_id"]
    assert_verified_where_sent(login, mount_client(plan, kwargs["auth_mount_point"]))


@pytest.mark.parametrize("stack", STACKS)
def test_runtime_login_is_verified_by_the_sts_its_mount_calls(
    stack: str, committed_plans: CommittedPlans
) -> None:
    plan = committed_plans[stack]
    definitions = plan["outputs"]["connectionDefinitions"]
    dynamic = [
        d["extra"]["atlas_identity"]
        for d in definitions.values()
        if d["extra"]["atlas_identity"]["auth_mode"] == "vault-dynamic"
    ]
    assert dynamic, f"{stack} has no vault-dynamic pipeline to log in with"
    for runtime in dynamic:
        credentials = AssumedRoleCredentials(
            conn_id="c",
            role=PipelineRole(
                role_arn=runtime["role_arn"], region=runtime["region"], session_seconds=900
            ),
            run=RunContext(dag_id="d", task_id="t", run_id="r"),
            sts_client_factory=lambda region: Sts(),
        )
        capture = CaptureVault()
        session = requests.Session()
        session.mount("https://", capture)
        vault = runtime["vault"]
        AwsIamLogin(
            credentials=credentials,
            mount=vault["auth_mount"],
            role=vault["auth_role"],
            iam_server_id_header_value=vault["iam_server_id_header_value"],
        ).login(hvac.Client(url=vault["url"], session=session))
        (login,) = capture.bodies
        assert_verified_where_sent(login, mount_client(plan, vault["auth_mount"]))
