"""The contract parser: every auth mode, every rule, exact messages."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from atlas_identity.contract import (
    AuthMode,
    AwsIamIdentity,
    ContractError,
    KmsSigningKey,
    OktaOidcIdentity,
    VaultDynamicIdentity,
    parse_extras,
)
from atlas_identity.errors import Step
from tests.plans import committed_plan
from tests.stacks_discovery import STACKS, StackPlans

ROLE = "arn:aws:iam::210987654321:role/aai-dev-pipeline-orders-ingest"


@pytest.fixture(scope="module")
def committed_plans() -> StackPlans:
    """The program's committed plans (snapshots/): the contract's producer, read without Pulumi."""
    return {stack: committed_plan(stack) for stack in STACKS}


def definition(plans: StackPlans, stack: str, conn_id: str) -> dict[str, Any]:
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


@pytest.mark.parametrize("stack", STACKS)
def test_every_definition_the_program_emits_parses(committed_plans: StackPlans, stack: str) -> None:
    outputs = committed_plans[stack]["outputs"]
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


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_okta_oidc_names_the_current_kms_key(committed_plans: StackPlans, stack: str) -> None:
    # Whatever the secrets backend (dev: Secrets Manager, prod: Vault), the key is in KMS.
    planned = definition(committed_plans, stack, "mongo_partner_feed")
    assert planned["extra"]["atlas_identity"]["version"] == 2
    identity = parse_extras(planned["extra"], conn_id="c").identity
    assert isinstance(identity, OktaOidcIdentity)
    key = identity.signing_key
    assert isinstance(key, KmsSigningKey)
    assert key.alg == "ES256"
    assert key.region == "eu-west-1"
    assert key.kms_key_arn.startswith("arn:aws:kms:eu-west-1:")
    # The key the definition names is one of the two the pipeline role may sign with.
    (grant,) = [
        r
        for r in committed_plans[stack]["resources"]
        if r["type"] == "aws:iam/rolePolicy:RolePolicy"
        and r["name"].endswith("-partner-feed-sign-policy")
    ]
    (statement,) = json.loads(grant["inputs"]["policy"])["Statement"]
    assert key.kms_key_arn in statement["Resource"]
    assert len(statement["Resource"]) == 2
    assert identity.scope == "mongodb.access"
    assert identity.client_id == committed_plans[stack]["outputs"]["oktaClientIds"]["partner-feed"]
    assert identity.role.session_seconds == 900


def test_okta_oidc_of_contract_version_1_is_refused(committed_plans: StackPlans) -> None:
    planned = definition(committed_plans, "dev", "mongo_partner_feed")
    planned["extra"]["atlas_identity"]["version"] = 1
    assert problems_of(planned["extra"]) == [
        "extra.atlas_identity.version: okta-oidc needs contract version 2 or later (a KMS "
        "signing key); version 1 read a private key, which no longer exists: deploy the "
        "current program"
    ]


def test_vault_dynamic(committed_plans: StackPlans) -> None:
    planned = definition(committed_plans, "prod", "mongo_finance_reconcile")
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
    extra["atlas_identity"]["version"] = 3
    assert problems_of(extra) == [
        "extra.atlas_identity.version: contract version 3 is not supported by this runtime "
        "(supported: 1, 2); upgrade airflow-atlas-identity-runtime"
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
    committed_plans: StackPlans, url: str, ok: bool
) -> None:
    planned = definition(committed_plans, "dev", "mongo_partner_feed")
    planned["extra"]["atlas_identity"]["token_url"] = url
    if ok:
        parse_extras(planned["extra"], conn_id="mongo_p1")
    else:
        assert problems_of(planned["extra"]) == [
            f"extra.atlas_identity.token_url: '{url}' must be an https URL (plain http is "
            "accepted only on loopback)"
        ]


def test_signing_key_and_vault_block_are_checked(
    committed_plans: StackPlans,
) -> None:
    okta = definition(committed_plans, "dev", "mongo_partner_feed")
    okta["extra"]["atlas_identity"]["signing_key"] = {
        "kms_key_arn": "alias/okta",
        "alg": "RS256",
        "private_key_pem": "x",
    }
    assert problems_of(okta["extra"]) == [
        "extra.atlas_identity.signing_key.private_key_pem: is not part of this contract "
        "version; upgrade the runtime or remove the key",
        "extra.atlas_identity.signing_key.alg: 'RS256' is not one of ES256",
        "extra.atlas_identity.signing_key.kms_key_arn: 'alias/okta' is not valid; use a KMS "
        "key ARN, e.g. arn:aws:kms:eu-west-1:123456789012:key/<uuid>",
        "extra.atlas_identity.signing_key.kid: is required and must be a non-empty string",
    ]
    del okta["extra"]["atlas_identity"]["signing_key"]
    okta["extra"]["atlas_identity"]["private_key"] = {"backend": "aws-secrets-manager"}
    assert problems_of(okta["extra"]) == [
        "extra.atlas_identity.private_key: is not part of this contract version; upgrade the "
        "runtime or remove the key",
        "extra.atlas_identity.signing_key: is required and must be an object",
    ]
    broken = definition(committed_plans, "dev", "mongo_finance_reconcile")["extra"]
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
