"""The contract parser: every auth mode, every rule, exact messages."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
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
from tests.runtime.definitions import okta_oidc_definition, vault_dynamic_definition

ROOT = Path(__file__).resolve().parents[3]
ROLE = "arn:aws:iam::210987654321:role/aai-dev-pipeline-orders-ingest"


@pytest.fixture(scope="module")
def dev_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The program's offline plan of the committed dev stack (the contract's producer)."""
    out = tmp_path_factory.mktemp("plan") / "dev.json"
    subprocess.run(
        [sys.executable, "-m", "infra.plan", "--stack", "dev", "--json", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return dict(json.loads(out.read_text()))


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


def test_every_definition_the_program_emits_parses(dev_plan: dict[str, Any]) -> None:
    definitions = dev_plan["outputs"]["connectionDefinitions"]
    assert sorted(definitions) == [
        "mongo_crm_explorer",
        "mongo_customer_sync",
        "mongo_orders_ingest",
        "mongo_revenue_report",
    ]
    for conn_id, definition in definitions.items():
        parsed = parse_extras(definition["extra"], conn_id=conn_id)
        assert isinstance(parsed.identity, AwsIamIdentity)
        assert (
            parsed.identity.role.role_arn
            == dev_plan["outputs"]["pipelineRoleArns"][parsed.identity.pipeline]
        )
        assert "atlas_identity" not in parsed.mongo_extras
        assert parsed.mongo_extras == {
            k: v for k, v in definition["extra"].items() if k != "atlas_identity"
        }


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


def test_okta_oidc_with_each_key_backend() -> None:
    common: dict[str, Any] = {
        "pipeline": "events-export",
        "host": "core-dev.x7k2p.mongodb.net",
        "schema": "events",
        "token_url": "https://acme.okta.com/oauth2/aus1/v1/token",
        "client_id": "0oa1client",
        "scope": "atlas.read atlas.write",
        "key_id": "k-2026-11",
        "role_arn": ROLE,
        "region": "eu-west-1",
    }
    sm = okta_oidc_definition(
        **common,
        private_key={"backend": "aws-secrets-manager", "secret_id": "k", "region": "eu-west-1"},
    )
    identity = parse_extras(sm["extra"], conn_id="mongo_events_export").identity
    assert isinstance(identity, OktaOidcIdentity)
    assert identity.private_key == AwsSecretsManagerKey(secret_id="k", region="eu-west-1")
    assert identity.scope == "atlas.read atlas.write"
    assert identity.role.session_seconds == 900
    kv = okta_oidc_definition(
        **common,
        private_key={
            "backend": "vault-kv",
            "url": "https://vault.acme.internal:8200",
            "mount": "airflow",
            "path": "okta/events-export",
            "field": "private_key_pem",
            "auth_mount": "aws",
            "auth_role": "events-export",
            "iam_server_id_header_value": "vault.acme.internal",
        },
    )
    identity = parse_extras(kv["extra"], conn_id="mongo_events_export").identity
    assert isinstance(identity, OktaOidcIdentity)
    assert isinstance(identity.private_key, VaultKvKey)
    assert identity.private_key.path == "okta/events-export"


def test_vault_dynamic() -> None:
    definition = vault_dynamic_definition(
        pipeline="ledger-sync",
        host="core-dev.x7k2p.mongodb.net",
        schema="ledger",
        role_arn=ROLE,
        region="eu-west-1",
        session_seconds=3600,
        vault={
            "url": "https://vault.acme.internal:8200",
            "auth_mount": "aws",
            "auth_role": "ledger-sync",
            "iam_server_id_header_value": "vault.acme.internal",
            "db_mount": "atlas",
            "db_role": "ledger-sync",
        },
    )
    identity = parse_extras(definition["extra"], conn_id="mongo_ledger_sync").identity
    assert isinstance(identity, VaultDynamicIdentity)
    assert identity.vault.db_mount == "atlas"
    assert identity.vault.db_role == "ledger-sync"


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
def test_token_url_must_be_https_except_loopback(url: str, ok: bool) -> None:
    definition = okta_oidc_definition(
        pipeline="p1",
        host="h",
        schema="s",
        token_url=url,
        client_id="c",
        scope="s",
        key_id="k",
        private_key={"backend": "aws-secrets-manager", "secret_id": "k", "region": "eu-west-1"},
        role_arn=ROLE,
        region="eu-west-1",
    )
    if ok:
        parse_extras(definition["extra"], conn_id="mongo_p1")
    else:
        assert problems_of(definition["extra"]) == [
            f"extra.atlas_identity.token_url: '{url}' must be an https URL (plain http is "
            "accepted only on loopback)"
        ]


def test_private_key_backend_and_vault_block_are_checked() -> None:
    definition = okta_oidc_definition(
        pipeline="p1",
        host="h",
        schema="s",
        token_url="https://acme.okta.com/t",
        client_id="c",
        scope="s",
        key_id="k",
        private_key={"backend": "gcp"},
        role_arn=ROLE,
        region="eu-west-1",
    )
    assert problems_of(definition["extra"]) == [
        "extra.atlas_identity.private_key.backend: 'gcp' is not one of aws-secrets-manager, "
        "vault-kv"
    ]
    vault = vault_dynamic_definition(
        pipeline="p2",
        host="h",
        schema="s",
        role_arn=ROLE,
        region="eu-west-1",
        session_seconds=900,
        vault={"url": "https://v", "auth_mount": "aws"},
    )
    broken = copy.deepcopy(vault["extra"])
    broken["authSource"] = "$external"
    assert problems_of(broken) == [
        "extra.atlas_identity.vault.auth_role: is required and must be a non-empty string",
        "extra.atlas_identity.vault.iam_server_id_header_value: is required and must be a "
        "non-empty string",
        "extra.atlas_identity.vault.db_mount: is required and must be a non-empty string",
        "extra.atlas_identity.vault.db_role: is required and must be a non-empty string",
        "extra.authSource: is '$external' but auth mode vault-dynamic requires 'admin'",
    ]
