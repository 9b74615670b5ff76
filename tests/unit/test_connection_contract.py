"""The producer side of docs/connection-contract.md: the runtime extra per auth mode."""

from __future__ import annotations

import pytest

from components.access import AuthMode, Grant, Naming, Pipeline
from components.contract import OktaRuntime, RuntimeInputs, VaultRuntime, runtime_extra

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


VAULT = VaultRuntime(
    url="https://vault.test:8200", iam_server_id_header_value="vault.test", keys_in_kv=True
)
OKTA = OktaRuntime(
    token_url="https://acme.okta.com/oauth2/aus1/v1/token",
    scope="atlas.access",
    client_ids={"feed": "0oa1"},
    signing_key_secret_names={"feed": "okta-keys/feed"},
)


def test_aws_iam_extra() -> None:
    assert runtime_extra(feed(AuthMode.AWS_IAM), inputs()) == {
        "role_arn": ROLE_ARN,
        "region": "eu-west-1",
        "session_seconds": 3600,
    }


def test_okta_key_location_follows_where_the_key_lives() -> None:
    in_kv = runtime_extra(feed(AuthMode.OKTA_OIDC), inputs(vault=VAULT, okta=OKTA))
    assert in_kv["private_key"] == {
        "backend": "vault-kv",
        "url": "https://vault.test:8200",
        "mount": "aai-test-airflow",
        "path": "okta-keys/feed",
        "auth_mount": "aai-test-aws",
        "auth_role": "feed",
        "iam_server_id_header_value": "vault.test",
    }
    in_secrets_manager = runtime_extra(feed(AuthMode.OKTA_OIDC), inputs(okta=OKTA))
    assert in_secrets_manager == {
        "token_url": "https://acme.okta.com/oauth2/aus1/v1/token",
        "client_id": "0oa1",
        "scope": "atlas.access",
        "private_key": {
            "backend": "aws-secrets-manager",
            "secret_id": "okta-keys/feed",
            "region": "eu-west-1",
        },
        "role_arn": ROLE_ARN,
        "region": "eu-west-1",
    }


def test_a_mode_without_its_settings_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"^pipeline feed uses vault-dynamic but the stack has no Vault settings$"
    ):
        runtime_extra(feed(AuthMode.VAULT_DYNAMIC), inputs())
    with pytest.raises(
        ValueError, match=r"^pipeline feed uses okta-oidc but the stack has no Okta settings$"
    ):
        runtime_extra(feed(AuthMode.OKTA_OIDC), inputs(vault=VAULT))
