"""Which STS endpoint an AWS IAM login to Vault is signed for: shared by the Vault mounts that
verify logins (components/vault) and the Airflow secrets backend that logs in (components/airflow).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


def sts_endpoint(region: str) -> str:
    """The regional STS endpoint (AWS General Reference, "AWS Security Token Service endpoints
    and quotas": `sts.<region>.amazonaws.com`, `.amazonaws.com.cn` in the China partition)."""
    return f"https://sts.{region}.amazonaws.com{'.cn' if region.startswith('cn-') else ''}"


# STS' global endpoint and the one region whose signatures it verifies (botocore's endpoint
# data: `aws-global`, hostname `sts.amazonaws.com`, credentialScope `us-east-1`).
GLOBAL_STS_ENDPOINT = "https://sts.amazonaws.com"
GLOBAL_STS_REGION = "us-east-1"


class LoginSigner(StrEnum):
    """Who signs the `sts:GetCallerIdentity` request of a mount's logins."""

    HVAC = "hvac"
    """hvac's `iam_login` (Airflow's VaultBackend): the request URL and signed Host are always
    `sts.amazonaws.com`; only the credential scope's region follows its `region` argument
    (hvac/aws_utils.py, generate_sigv4_auth_request and SigV4Auth.add_auth)."""
    BOTOCORE = "botocore"
    """The runtime (runtime/src/atlas_identity/vault.py): botocore's SigV4 signer over the
    regional endpoint's URL, Host and region."""


@dataclass(frozen=True, kw_only=True)
class StsClientConfig:
    endpoint: str
    region: str


def sts_client_config(signer: LoginSigner, region: str) -> StsClientConfig:
    """`sts_endpoint`/`sts_region` of an AWS auth mount, matched to who signs its logins.

    An IAM login is a `sts:GetCallerIdentity` request the client signs (SigV4 over the Host
    header, credential scope `<date>/<region>/sts/aws4_request`). Vault sends it to the mount's
    `sts_endpoint` but keeps the Host of the client's URL (hashicorp/vault,
    builtin/credential/aws/path_login.go, buildHttpRequest: `request.Host = parsedUrl.Host`), and
    STS at that endpoint verifies the signature for its own region. So the signed Host, the
    scope's region and the endpoint Vault calls must name one endpoint. hvac can only sign the
    global endpoint's Host, whose region is us-east-1: a regional mount with a regional scope and
    that Host is the combination reported failing (hvac/hvac#251, hashicorp/vault#11067). The
    runtime signs whatever endpoint it is given, so its mount stays in the stack's region.
    Vault API docs, "AWS auth method - Configure client": `sts_region` "should be set to the
    region in which the custom sts_endpoint resides".
    """
    if signer is LoginSigner.HVAC:
        return StsClientConfig(endpoint=GLOBAL_STS_ENDPOINT, region=GLOBAL_STS_REGION)
    return StsClientConfig(endpoint=sts_endpoint(region), region=region)
