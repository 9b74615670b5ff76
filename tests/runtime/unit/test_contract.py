"""The contract parser: every auth mode, every rule, exact messages."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from atlas_identity.contract import (
    AuthMode,
    AwsIamIdentity,
    AwsSecretsManagerKey,
    ContractError,
    OktaOidcIdentity,
    VaultDynamicIdentity,
    VaultKvKey,
    parse_extras,
)
from atlas_identity.errors import Step
from tests.plans import committed_plan

ROOT = Path(__file__).resolve().parents[3]
ROLE = "arn:aws:iam::210987654321:role/aai-dev-pipeline-orders-ingest"


@pytest.fixture(scope="module")
def plans() -> dict[str, dict[str, Any]]:
    """The program's committed plans of the committed stacks (the contract's producer)."""
    return {stack: committed_plan(stack) for stack in ("dev", "prod")}


def definition(plans: dict[str, dict[str, Any]], stack: str, conn_id: str) -> dict[str, Any]:
    return copy.deepcopy(plans[stack]["outputs"]["connectionDefinitions"][conn_id])


def aws_extra() -> dict[str, Any]:
    return {
        "srv": True,
        "tls": True,
        "authMechanism": "MONGODB-AWS",
        "authSource": "$external",
        "appname": "airflow-orders-ingest",
        "atlas_identity": {
            "version": 1,
            "pipeline": "orders-ingest",
            "auth_mode": "aws-iam",
            "role_arn": ROLE,
            "region": "eu-west-1",
            "session_seconds": 3600,
        },
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_definition_the_program_emits_parses(
    plans: dict[str, dict[str, Any]], stack: str
) -> None:
    outputs = plans[stack]["outputs"]
    modes = set()
    for conn_id, planned in outputs["connectionDefinitions"].items():
        parsed = parse_extras(planned["extra"], conn_id=conn_id)
        modes.add(parsed.identity.auth_mode)
        assert (
            parsed.identity.role.role_arn == outputs["pipelineRoleArns"][parsed.identity.pipeline]
        )
        assert parsed.mongo_extras == {
            k: v for k, v in planned["extra"].items() if k != "atlas_identity"
        }
    assert modes == set(AuthMode)


def test_aws_iam_parses_to_typed_values() -> None:
    parsed = parse_extras(aws_extra(), conn_id="mongo_orders_ingest")
    identity = parsed.identity
    assert isinstance(identity, AwsIamIdentity)
    assert identity.auth_mode is AuthMode.AWS_IAM
    assert identity.pipeline == "orders-ingest"
    assert identity.role.role_arn == ROLE
    assert identity.role.role_name == "aai-dev-pipeline-orders-ingest"
    assert identity.role.account_id == "210987654321"
    assert identity.role.session_seconds == 3600
    assert parsed.mongo_extras == {
        "srv": True,
        "tls": True,
        "authMechanism": "MONGODB-AWS",
        "authSource": "$external",
        "appname": "airflow-orders-ingest",
    }


def test_okta_oidc_with_each_key_backend(plans: dict[str, dict[str, Any]]) -> None:
    # dev keeps the signing key in Secrets Manager, prod in Vault KV.
    dev = parse_extras(definition(plans, "dev", "mongo_partner_feed")["extra"], conn_id="c")
    identity = dev.identity
    assert isinstance(identity, OktaOidcIdentity)
    assert identity.private_key == AwsSecretsManagerKey(
        secret_id="airflow/dev/okta-keys/partner-feed", region="eu-west-1"
    )
    assert identity.scope == "mongodb.access"
    assert identity.client_id == plans["dev"]["outputs"]["oktaClientIds"]["partner-feed"]
    assert identity.role.session_seconds == 900
    prod = parse_extras(definition(plans, "prod", "mongo_partner_feed")["extra"], conn_id="c")
    assert isinstance(prod.identity, OktaOidcIdentity)
    assert prod.identity.private_key == VaultKvKey(
        url="https://vault.acme.internal:8200",
        mount="aai-prod-airflow",
        path="okta-keys/partner-feed",
        auth_mount="aai-prod-aws",
        auth_role="partner-feed",
        iam_server_id_header_value="vault.acme.internal",
    )


def test_vault_dynamic(plans: dict[str, dict[str, Any]]) -> None:
    planned = definition(plans, "prod", "mongo_finance_reconcile")
    identity = parse_extras(planned["extra"], conn_id="mongo_finance_reconcile").identity
    assert isinstance(identity, VaultDynamicIdentity)
    assert (identity.vault.db_mount, identity.vault.db_role) == (
        "aai-prod-atlas",
        "finance-reconcile",
    )
    assert identity.role.session_seconds == 900


def problems_of(extra: dict[str, Any]) -> list[str]:
    with pytest.raises(ContractError) as caught:
        parse_extras(extra, conn_id="mongo_x")
    assert caught.value.step is Step.CONTRACT
    assert caught.value.conn_id == "mongo_x"
    return caught.value.problems


def test_unknown_version_is_refused_with_the_fix() -> None:
    extra = aws_extra()
    extra["atlas_identity"]["version"] = 2
    assert problems_of(extra) == [
        "extra.atlas_identity.version: contract version 2 is not supported by this runtime "
        "(supported: 1); upgrade airflow-atlas-identity-runtime"
    ]


def test_missing_runtime_key() -> None:
    extra = aws_extra()
    del extra["atlas_identity"]
    assert problems_of(extra) == [
        "extra.atlas_identity: is missing; this connection was not written by the program "
        "(use the stock MongoHook for static connections)"
    ]


def test_every_problem_is_reported_at_once() -> None:
    extra = aws_extra()
    runtime = extra["atlas_identity"]
    runtime["role_arn"] = "arn:aws:iam::210987654321:role/path/name"
    runtime["region"] = "Europe"
    runtime["session_seconds"] = "3600"
    runtime["colour"] = "blue"
    extra["authMechanism"] = "SCRAM-SHA-256"
    extra["password"] = "x"
    assert problems_of(extra) == [
        "extra.atlas_identity.colour: is not part of this contract version; upgrade the "
        "runtime or remove the key",
        "extra.atlas_identity.role_arn: 'arn:aws:iam::210987654321:role/path/name' is not "
        "valid; use a path-less role ARN, e.g. arn:aws:iam::123456789012:role/name",
        "extra.atlas_identity.region: 'Europe' is not valid; use e.g. eu-west-1",
        "extra.atlas_identity.session_seconds: '3600' must be a JSON integer (seconds)",
        "extra.authMechanism: is 'SCRAM-SHA-256' but auth mode aws-iam requires 'MONGODB-AWS'",
        "extra.password: must not be set: the runtime provides credentials; remove it from "
        "the definition",
    ]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://acme.okta.com/oauth2/x/v1/token", True),
        ("http://127.0.0.1:8080/token", True),
        ("http://localhost/token", True),
        ("http://acme.okta.com/token", False),
        ("ftp://acme.okta.com/token", False),
    ],
)
def test_token_url_must_be_https_except_loopback(
    plans: dict[str, dict[str, Any]], url: str, ok: bool
) -> None:
    planned = definition(plans, "dev", "mongo_partner_feed")
    planned["extra"]["atlas_identity"]["token_url"] = url
    if ok:
        parse_extras(planned["extra"], conn_id="mongo_p1")
    else:
        assert problems_of(planned["extra"]) == [
            f"extra.atlas_identity.token_url: '{url}' must be an https URL (plain http is "
            "accepted only on loopback)"
        ]


def test_private_key_backend_and_vault_block_are_checked(
    plans: dict[str, dict[str, Any]],
) -> None:
    okta = definition(plans, "dev", "mongo_partner_feed")
    okta["extra"]["atlas_identity"]["private_key"] = {"backend": "gcp"}
    assert problems_of(okta["extra"]) == [
        "extra.atlas_identity.private_key.backend: 'gcp' is not one of aws-secrets-manager, "
        "vault-kv"
    ]
    broken = definition(plans, "dev", "mongo_finance_reconcile")["extra"]
    broken["atlas_identity"]["vault"] = {"url": "https://v", "auth_mount": "aws"}
    broken["authSource"] = "$external"
    assert problems_of(broken) == [
        "extra.atlas_identity.vault.auth_role: is required and must be a non-empty string",
        "extra.atlas_identity.vault.iam_server_id_header_value: is required and must be a "
        "non-empty string",
        "extra.atlas_identity.vault.db_mount: is required and must be a non-empty string",
        "extra.atlas_identity.vault.db_role: is required and must be a non-empty string",
        "extra.authSource: is '$external' but auth mode vault-dynamic requires 'admin'",
    ]
