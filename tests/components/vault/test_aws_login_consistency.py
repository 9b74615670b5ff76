"""Every AWS login the plan declares is signed for the STS endpoint Vault will send it to.

For every AWS auth mount a stack declares (`vault:aws/authBackendClient`) and every client that
logs in to it, the login is produced by the real signing code with fake credentials and no
network: Airflow's stock `VaultBackend` built from the plan's `secrets.backend_kwargs` (hvac's
`iam_login`), and the runtime's `AwsIamLogin` built from a vault-dynamic connection definition
(botocore's SigV4 signer). Then Vault's forwarding rule and STS' verification are applied to it:

- Vault sends the request to the mount's `sts_endpoint` (default `https://sts.amazonaws.com`),
  path and body of the client's URL, Host header of the client's URL (hashicorp/vault,
  builtin/credential/aws/path_login.go: `pathLoginUpdateIam` picks the endpoint,
  `buildHttpRequest` sets `request.Host = parsedUrl.Host`).
- STS at that endpoint verifies SigV4 for its own region: the region botocore's endpoint data
  gives the endpoint's hostname (`sts.amazonaws.com` is `aws-global`, credential scope
  us-east-1), recomputed with botocore's SigV4 signer over the request as STS receives it.

The login works only if the signed Host, the Host Vault sends, the host Vault calls and the
scope's region all name one endpoint.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.regions
import botocore.session
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

CLIENT_CONFIG = "vault:aws/authBackendClient:AuthBackendClient"
VAULT_BACKEND = "airflow.providers.hashicorp.secrets.vault.VaultBackend"
# Vault's endpoint when a mount configures none (path_login.go, pathLoginUpdateIam).
VAULT_DEFAULT_STS_ENDPOINT = "https://sts.amazonaws.com"
# The X-Amz-* headers Vault accepts on a login without `allowed_sts_header_values`
# (hashicorp/vault, builtin/credential/aws/backend.go, defaultAllowedSTSRequestHeaders).
VAULT_ALLOWED_AMZ_HEADERS = frozenset(
    h.lower()
    for h in (
        "X-Amz-Algorithm",
        "X-Amz-Content-Sha256",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-User-Agent",
    )
)
ACCESS_KEY, SECRET_KEY, SESSION_TOKEN = "ASIAEXAMPLE", "example-secret", "example-token"

Signer = Callable[[], dict[str, Any]]
"""Logs in once through a capturing transport; returns the login body sent to Vault."""


@cache
def sts_regions_by_host() -> dict[str, str]:
    """STS hostname -> the region whose SigV4 scopes it verifies (botocore's endpoint data)."""
    loader = botocore.session.get_session().get_component("data_loader")
    resolver = botocore.regions.EndpointResolver(loader.load_data("endpoints"))
    regions: dict[str, str] = {}
    for partition in resolver.get_available_partitions():
        names = resolver.get_available_endpoints("sts", partition, allow_non_regional=True)
        for name in names:
            if name.endswith("-fips"):  # deprecated pseudo-regions; their hosts say fips
                continue
            endpoint = resolver.construct_endpoint("sts", name, partition_name=partition)
            if endpoint:
                scope = endpoint.get("credentialScope", {}).get("region", name)
                regions.setdefault(endpoint["hostname"], scope)
    return regions


class CaptureVault(BaseAdapter):
    """A requests transport that records a login body and answers like Vault."""

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


def capturing_session() -> tuple[requests.Session, CaptureVault]:
    capture = CaptureVault()
    session = requests.Session()
    session.mount("https://", capture)
    return session, capture


@dataclass(frozen=True)
class Login:
    """One client's login to one mount."""

    mount: str
    who: str
    sign: Signer


class Sts:
    """AssumeRole for the runtime: the pipeline role's (static, example) credentials."""

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


def airflow_backend_logins(plan: dict[str, Any]) -> list[Login]:
    """Airflow's secrets backend, as MWAA builds it from the planned options."""
    options = plan["outputs"]["airflowConfigurationOptions"]
    if options["secrets.backend"] != VAULT_BACKEND:
        return []
    raw = options["secrets.backend_kwargs"]
    kwargs = dict(raw["__json__"]) if isinstance(raw, dict) else dict(json.loads(raw))

    def sign() -> dict[str, Any]:
        from airflow.providers.hashicorp.secrets.vault import VaultBackend

        session, capture = capturing_session()
        backend = VaultBackend(**kwargs, session=session)
        assert backend.vault_client.client is not None  # logs in
        (body,) = capture.bodies
        assert body["role"] == kwargs["role_id"]
        return body

    return [Login(mount=kwargs["auth_mount_point"], who="Airflow VaultBackend (hvac)", sign=sign)]


def runtime_logins(plan: dict[str, Any]) -> list[Login]:
    """The runtime's login of each vault-dynamic pipeline, from its connection definition."""
    logins = []
    for conn_id, definition in sorted(plan["outputs"]["connectionDefinitions"].items()):
        runtime = definition["extra"]["atlas_identity"]
        if runtime["auth_mode"] != "vault-dynamic":
            continue
        logins.append(
            Login(
                mount=runtime["vault"]["auth_mount"],
                who=f"runtime AwsIamLogin ({conn_id})",
                sign=_runtime_signer(runtime),
            )
        )
    return logins


def _runtime_signer(runtime: dict[str, Any]) -> Signer:
    def sign() -> dict[str, Any]:
        credentials = AssumedRoleCredentials(
            conn_id="c",
            role=PipelineRole(
                role_arn=runtime["role_arn"], region=runtime["region"], session_seconds=900
            ),
            run=RunContext(dag_id="d", task_id="t", run_id="r"),
            sts_client_factory=lambda region: Sts(),
        )
        vault = runtime["vault"]
        session, capture = capturing_session()
        AwsIamLogin(
            credentials=credentials,
            mount=vault["auth_mount"],
            role=vault["auth_role"],
            iam_server_id_header_value=vault["iam_server_id_header_value"],
        ).login(hvac.Client(url=vault["url"], session=session))
        (body,) = capture.bodies
        return body

    return sign


def mount_configs(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Mount path -> its client config, as planned."""
    return {
        r["inputs"]["backend"]: dict(r["inputs"])
        for r in plan["resources"]
        if r["type"] == CLIENT_CONFIG
    }


@dataclass(frozen=True)
class Forwarded:
    """The login request as STS receives it from Vault."""

    endpoint_host: str
    sent_host: str
    signed_host: str
    scope_region: str
    method: str
    url: str
    headers: dict[str, str]
    body: str


def forwarded_by_vault(login: dict[str, Any], config: dict[str, Any]) -> Forwarded:
    """Vault's rule: the mount's endpoint, the client's path, the client's URL Host."""
    client_url = urlsplit(base64.b64decode(login["iam_request_url"]).decode())
    endpoint = config.get("stsEndpoint") or VAULT_DEFAULT_STS_ENDPOINT
    headers = {
        k: v[0] for k, v in json.loads(base64.b64decode(login["iam_request_headers"])).items()
    }
    authorization = headers["Authorization"]
    (scope,) = re.findall(r"Credential=[^/]+/\d{8}/([^/]+)/sts/aws4_request", authorization)
    # What the signer put into the canonical `host` header: an explicit Host header, else the
    # URL's host (botocore's and aws-sdk-go's rule, which Vault's comment describes).
    signed_host = next((v for k, v in headers.items() if k.lower() == "host"), client_url.netloc)
    sent_host = str(client_url.netloc)
    return Forwarded(
        endpoint_host=str(urlsplit(endpoint).hostname),
        sent_host=sent_host,
        signed_host=signed_host,
        scope_region=scope,
        method=login["iam_http_request_method"],
        url=f"https://{sent_host}{client_url.path or '/'}",
        headers={k: v for k, v in headers.items() if k.lower() != "host"} | {"Host": sent_host},
        body=base64.b64decode(login["iam_request_body"]).decode(),
    )


def sts_accepts(request: Forwarded, *, region: str) -> bool:
    """Whether STS verifying for `region` computes the signature the request carries."""
    authorization = request.headers["Authorization"]
    signed = set(re.findall(r"SignedHeaders=([^,]+)", authorization)[0].split(";"))
    aws_request = AWSRequest(
        method=request.method,
        url=request.url,
        data=request.body,
        headers={k: v for k, v in request.headers.items() if k.lower() in signed},
    )
    aws_request.context["timestamp"] = request.headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN), "sts", region)
    string_to_sign = signer.string_to_sign(aws_request, signer.canonical_request(aws_request))
    return bool(
        re.search(rf"Signature={signer.signature(string_to_sign, aws_request)}$", authorization)
    )


def login_problems(plan: dict[str, Any]) -> Iterator[str]:
    """Every way a planned login would be refused, as `mount <- who: problem` lines."""
    configs = mount_configs(plan)
    logins = airflow_backend_logins(plan) + runtime_logins(plan)
    for mount in sorted(set(configs) - {login.mount for login in logins}):
        yield f"mount {mount}: no client of the plan logs in to it"
    for login in logins:
        where = f"mount {login.mount} <- {login.who}"
        if login.mount not in configs:
            yield f"{where}: the plan configures no such AWS auth mount"
            continue
        config = configs[login.mount]
        request = forwarded_by_vault(login.sign(), config)
        yield from _request_problems(where, request, config)


def _request_problems(where: str, request: Forwarded, config: dict[str, Any]) -> Iterator[str]:
    verifying_region = sts_regions_by_host().get(request.endpoint_host)
    if verifying_region is None:
        yield f"{where}: {request.endpoint_host} is not an STS endpoint botocore knows"
        return
    if config.get("stsRegion") != verifying_region:
        yield (
            f"{where}: sts_region {config.get('stsRegion')} but {request.endpoint_host} "
            f"verifies {verifying_region}"
        )
    if not request.signed_host == request.sent_host == request.endpoint_host:
        yield (
            f"{where}: signed Host {request.signed_host}, Vault sends Host {request.sent_host} "
            f"to {request.endpoint_host}"
        )
    if request.scope_region != verifying_region:
        yield (
            f"{where}: scope region {request.scope_region} but {request.endpoint_host} verifies "
            f"{verifying_region}"
        )
    elif not sts_accepts(request, region=verifying_region):
        yield f"{where}: the signature does not verify as STS recomputes it"
    foreign = sorted(
        h
        for h in request.headers
        if h.lower().startswith("x-amz-") and h.lower() not in VAULT_ALLOWED_AMZ_HEADERS
    )
    if foreign:
        yield f"{where}: Vault refuses the headers {foreign}"


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


@pytest.mark.parametrize("stack", STACKS)
def test_every_login_is_signed_for_the_sts_its_mount_calls(
    stack: str, committed_plans: CommittedPlans, aws_environment: None
) -> None:
    assert list(login_problems(committed_plans[stack])) == []


def test_the_plans_have_both_kinds_of_login(committed_plans: CommittedPlans) -> None:
    """The check above covers hvac and the runtime: some stack has each."""
    plans = [committed_plans[stack] for stack in STACKS]
    assert any(airflow_backend_logins(plan) for plan in plans)
    assert any(runtime_logins(plan) for plan in plans)


def test_a_regional_mount_for_hvac_is_refused(
    committed_plans: CommittedPlans, aws_environment: None
) -> None:
    """The check can fail: the Airflow mount in its region, as hvac/hvac#251 reports failing."""
    plan = copy.deepcopy(committed_plans["prod"])
    (kwargs_raw,) = [plan["outputs"]["airflowConfigurationOptions"]["secrets.backend_kwargs"]]
    kwargs = kwargs_raw["__json__"] if isinstance(kwargs_raw, dict) else json.loads(kwargs_raw)
    mount = kwargs["auth_mount_point"]
    (config,) = [
        r["inputs"]
        for r in plan["resources"]
        if r["type"] == CLIENT_CONFIG and r["inputs"]["backend"] == mount
    ]
    config.update(stsEndpoint="https://sts.eu-west-1.amazonaws.com", stsRegion="eu-west-1")
    if isinstance(kwargs_raw, dict):
        kwargs_raw["__json__"]["region"] = "eu-west-1"
    else:
        plan["outputs"]["airflowConfigurationOptions"]["secrets.backend_kwargs"] = json.dumps(
            {**kwargs, "region": "eu-west-1"}
        )
    problems = list(login_problems(plan))
    assert problems == [
        f"mount {mount} <- Airflow VaultBackend (hvac): signed Host sts.amazonaws.com, Vault "
        f"sends Host sts.amazonaws.com to sts.eu-west-1.amazonaws.com"
    ]


def test_the_global_endpoint_verifies_us_east_1_only() -> None:
    """The oracle itself: botocore's data maps the global and a regional host as AWS documents."""
    regions = sts_regions_by_host()
    assert regions["sts.amazonaws.com"] == "us-east-1"
    assert regions["sts.eu-west-1.amazonaws.com"] == "eu-west-1"
    assert regions["sts.cn-north-1.amazonaws.com.cn"] == "cn-north-1"
