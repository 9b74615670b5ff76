"""The producer side of docs/connection-contract.md: the runtime extra per auth mode."""

from __future__ import annotations

import pytest

from components.airflow.contract import OktaRuntime, RuntimeInputs, VaultRuntime, runtime_extra
from model.access import AuthMode, Grant, Pipeline
from model.naming import Naming

ROLE_ARN = "arn:aws:iam::123456789012:role/aai-test-pipeline-feed"


def feed(mode: AuthMode) -> Pipeline:
    grant = Grant(database="sales", collections=("orders",), actions=("FIND",))
    return Pipeline(
        name="feed", auth_mode=mode, cluster="core", grants=(grant,), default_database="sales"
    )


def inputs(*, vault: VaultRuntime | None = None, okta: OktaRuntime | None = None) -> RuntimeInputs:
    return RuntimeInputs(
        naming=Naming(prefix="aai", stack="test"),
        region="eu-west-1",
        session_seconds=3600,
        role_arns={"feed": ROLE_ARN},
        vault=vault,
        okta=okta,
    )


VAULT = VaultRuntime(url="https://vault.test:8200", iam_server_id_header_value="vault.test")
KEY = {
    "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/0b1c",
    "kid": "feed-a-1",
    "alg": "ES256",
}
OKTA = OktaRuntime(
    token_url="https://acme.okta.com/oauth2/aus1/v1/token",
    scope="atlas.access",
    client_ids={"feed": "0oa1"},
    signing_keys={"feed": KEY},
)


def test_aws_iam_extra() -> None:
    assert runtime_extra(feed(AuthMode.AWS_IAM), inputs()) == {
        "role_arn": ROLE_ARN,
        "region": "eu-west-1",
        "session_seconds": 3600,
    }


def test_okta_extra_names_the_kms_key_whatever_the_secrets_backend() -> None:
    expected = {
        "token_url": "https://acme.okta.com/oauth2/aus1/v1/token",
        "client_id": "0oa1",
        "scope": "atlas.access",
        "signing_key": KEY,
        "role_arn": ROLE_ARN,
        "region": "eu-west-1",
    }
    assert runtime_extra(feed(AuthMode.OKTA_OIDC), inputs(vault=VAULT, okta=OKTA)) == expected
    assert runtime_extra(feed(AuthMode.OKTA_OIDC), inputs(okta=OKTA)) == expected


def test_a_mode_without_its_settings_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"^pipeline feed uses vault-dynamic but the stack has no Vault settings$"
    ):
        runtime_extra(feed(AuthMode.VAULT_DYNAMIC), inputs())
    with pytest.raises(
        ValueError, match=r"^pipeline feed uses okta-oidc but the stack has no Okta settings$"
    ):
        runtime_extra(feed(AuthMode.OKTA_OIDC), inputs(vault=VAULT))
