"""Vault: the AWS IAM login request, and lease renewal / replacement decisions."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import hvac
import requests
from requests.adapters import BaseAdapter

from atlas_identity.aws import AssumedRoleCredentials, RunContext
from atlas_identity.contract import PipelineRole, VaultSettings
from atlas_identity.vault import AwsIamLogin, DynamicDatabaseCredentials

SETTINGS = VaultSettings(
    url="https://vault.acme.internal:8200",
    auth_mount="aws",
    auth_role="ledger-sync",
    iam_server_id_header_value="vault.acme.internal",
    db_mount="atlas",
    db_role="ledger-sync",
)


class Capture(BaseAdapter):
    """A requests transport that records the request and answers like Vault."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.requests.append(request)
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(
            {"auth": {"client_token": "hvs.x", "lease_duration": 60, "renewable": True}}
        ).encode()
        response.headers["Content-Type"] = "application/json"
        response.request = request
        return response


class Sts:
    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "Credentials": {
                "AccessKeyId": "ASIAPIPELINE",
                "SecretAccessKey": "pipeline-secret",
                "SessionToken": "pipeline-token",
                "Expiration": datetime.now(UTC) + timedelta(hours=1),
            },
            "AssumedRoleUser": {"Arn": "arn:aws:sts::210987654321:assumed-role/r/s"},
        }


def test_aws_iam_login_sends_a_signed_get_caller_identity_for_vault() -> None:
    capture = Capture()
    session = requests.Session()
    session.mount("https://", capture)
    client = hvac.Client(url=SETTINGS.url, session=session)
    creds = AssumedRoleCredentials(
        conn_id="mongo_ledger_sync",
        role=PipelineRole(
            role_arn="arn:aws:iam::210987654321:role/r", region="eu-west-1", session_seconds=900
        ),
        run=RunContext(dag_id="d", task_id="t", run_id="r"),
        sts_client_factory=lambda region: Sts(),
    )
    auth = AwsIamLogin(
        credentials=creds,
        mount="aws",
        role="ledger-sync",
        iam_server_id_header_value="vault.acme.internal",
    ).login(client)
    assert auth["client_token"] == "hvs.x"
    (request,) = capture.requests
    assert request.url == "https://vault.acme.internal:8200/v1/auth/aws/login"
    assert isinstance(request.body, str | bytes)
    body = json.loads(request.body)
    assert body["role"] == "ledger-sync"
    assert body["iam_http_request_method"] == "POST"
    # The role's region's own endpoint: URL, signed Host and scope name the endpoint the login
    # mount sends the request to.
    assert (
        base64.b64decode(body["iam_request_url"]).decode() == "https://sts.eu-west-1.amazonaws.com/"
    )
    assert (
        base64.b64decode(body["iam_request_body"]).decode()
        == "Action=GetCallerIdentity&Version=2011-06-15"
    )
    headers = json.loads(base64.b64decode(body["iam_request_headers"]))
    assert headers["Host"] == ["sts.eu-west-1.amazonaws.com"]
    assert headers["X-Vault-AWS-IAM-Server-ID"] == ["vault.acme.internal"]
    assert headers["X-Amz-Security-Token"] == ["pipeline-token"]
    authorization = headers["Authorization"][0]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=ASIAPIPELINE/")
    # The role's region: the login mount verifies at that region's STS endpoint.
    assert "/eu-west-1/sts/aws4_request" in authorization
    assert "x-vault-aws-iam-server-id" in authorization  # the header is signed
    assert "pipeline-secret" not in json.dumps(body)


class FakeVault:
    """Just enough of an hvac client for the lease logic."""

    def __init__(self, log: list[str], renew_grants: float) -> None:
        self.log = log
        self.renew_grants = renew_grants
        self.adapter = self
        self.auth = self
        self.token = self

    def read(self, path: str) -> dict[str, Any]:
        n = sum(1 for entry in self.log if entry.startswith("read")) + 1
        self.log.append(f"read {path}")
        return {
            "lease_id": f"{path}/lease{n}",
            "lease_duration": 30,
            "renewable": True,
            "data": {"username": f"v-user-{n}", "password": f"pw-{n}"},
        }

    def put(self, url: str, json: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Only the URL forms of lease renew/revoke, the paths the pipeline policies grant."""
        for action in ("renew", "revoke"):
            prefix = f"/v1/sys/leases/{action}/"
            if url.startswith(prefix):
                self.log.append(f"{action} {url.removeprefix(prefix)}")
                return {"lease_duration": self.renew_grants} if action == "renew" else None
        raise AssertionError(f"unexpected PUT {url}")

    def revoke_self(self) -> None:
        self.log.append("revoke-self")


class FakeLogin:
    description = "fake"

    def __init__(self, log: list[str], ttl: int) -> None:
        self.log = log
        self.ttl = ttl

    def login(self, client: Any) -> dict[str, Any]:
        self.log.append("login")
        return {"client_token": "hvs.t", "lease_duration": self.ttl}


def dynamic(log: list[str], clock: list[float], *, token_ttl: int, renew_grants: float) -> Any:
    return DynamicDatabaseCredentials(
        conn_id="mongo_ledger_sync",
        settings=SETTINGS,
        login=FakeLogin(log, token_ttl),
        client_factory=lambda url: FakeVault(log, renew_grants),
        clock=lambda: clock[0],
    )


def test_lease_is_renewed_while_the_token_outlives_it_then_replaced() -> None:
    log: list[str] = []
    clock = [0.0]
    creds = dynamic(log, clock, token_ttl=300, renew_grants=30)
    first = creds.get()
    assert (first.username, first.generation) == ("v-user-1", 1)
    clock[0] = 21.0  # lease 30 s, margin 10 s
    assert creds.get() is first
    assert log == ["login", "read atlas/creds/ledger-sync", "renew atlas/creds/ledger-sync/lease1"]
    clock[0] = 41.0
    creds.get()
    assert log[-1] == "renew atlas/creds/ledger-sync/lease1"


def test_a_renewal_capped_by_max_ttl_reads_a_new_user() -> None:
    log: list[str] = []
    clock = [0.0]
    creds = dynamic(log, clock, token_ttl=300, renew_grants=5)
    creds.get()
    clock[0] = 21.0
    second = creds.get()
    assert (second.username, second.generation) == ("v-user-2", 2)


def test_a_token_near_its_end_means_a_new_login_and_a_new_user() -> None:
    log: list[str] = []
    clock = [0.0]
    creds = dynamic(log, clock, token_ttl=45, renew_grants=30)
    creds.get()
    clock[0] = 31.0  # token margin 15 s
    second = creds.get()
    assert second.username == "v-user-2"
    assert log == [
        "login",
        "read atlas/creds/ledger-sync",
        "login",
        "read atlas/creds/ledger-sync",
    ]
    creds.revoke()
    assert log[-4:] == [
        "revoke atlas/creds/ledger-sync/lease1",
        "revoke atlas/creds/ledger-sync/lease2",
        "revoke-self",
        "revoke-self",
    ]
