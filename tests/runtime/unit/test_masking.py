"""Every secret value the runtime handles is redacted by Airflow's own masker.

No stand-in for the masker: each value goes through the runtime code that handles it, then
through the `redact` of the installed Airflow (what its task-log handlers apply), on the locked
Airflow and on MWAA's 3.0.6 (scripts/check-mwaa). Values are fresh per test and long enough for
Airflow's minimum masked length, so no earlier registration can make a test pass; and each test
starts from an empty masker (Airflow's own `reset_secrets_masker`), so no earlier registration can
make it fail either: Airflow joins its patterns in set order, so a value another test registered
that happens to be a prefix of a fresh one (`secret-1` from tests/runtime/unit/test_aws.py) would
mask only that prefix. (Okta signing keys never reach the worker: they stay in KMS.)
"""

from __future__ import annotations

import importlib
import secrets
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from atlas_identity import masking
from atlas_identity.aws import AssumedRoleCredentials, RunContext
from atlas_identity.contract import KmsSigningKey, OktaOidcIdentity, PipelineRole, VaultSettings
from atlas_identity.oidc import OktaTokenSource, der_to_jose
from atlas_identity.vault import DynamicDatabaseCredentials, JwtLogin

ROLE = PipelineRole(
    role_arn="arn:aws:iam::210987654321:role/r", region="eu-west-1", session_seconds=900
)
# Airflow 3.1+ keeps the masker in airflow.sdk._shared; 3.0 in airflow.sdk.execution_time.
MASKER_MODULES = ("airflow.sdk._shared.secrets_masker", "airflow.sdk.execution_time.secrets_masker")


def airflow_masker_module() -> Any:
    for name in MASKER_MODULES:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise AssertionError(f"no Airflow masker in {MASKER_MODULES}")


@pytest.fixture(autouse=True)
def empty_masker() -> None:
    airflow_masker_module().reset_secrets_masker()


def airflow_redact(text: str) -> str:
    return str(airflow_masker_module().redact(text))


def fresh(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(12)}"


def assert_redacted(*values: str) -> None:
    for value in values:
        assert airflow_redact(f"before {value} after") == "before *** after", value


def test_the_runtime_registers_with_airflows_mask_secret() -> None:
    masking._masker.cache_clear()
    registered = masking._masker()
    assert registered.__name__ == "mask_secret"
    assert registered.__module__ in masking._LOCATIONS


class LocalSigner:
    """An ES256 signer with a local key: the assertion, not the key, is what is masked here
    (in production the key stays in KMS, atlas_identity.oidc.KmsSigner)."""

    kid = "k1"
    alg = "ES256"

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())

    def sign(self, signing_input: bytes) -> bytes:
        return der_to_jose(self._key.sign(signing_input, ec.ECDSA(hashes.SHA256())), 32)


def test_client_assertion() -> None:
    source = OktaTokenSource(
        conn_id="mongo_events_export",
        identity=OktaOidcIdentity(
            pipeline="events-export",
            token_url="https://acme.okta.com/oauth2/aus1/v1/token",
            client_id="0oa1client",
            scope="atlas",
            signing_key=KmsSigningKey(
                kms_key_arn="arn:aws:kms:eu-west-1:210987654321:key/0b1c", kid="k1", alg="ES256"
            ),
            role=ROLE,
        ),
        signer=LocalSigner,
    )
    assert_redacted(source.client_assertion())


class FakeVault:
    """An hvac client answering a JWT login and one dynamic-credentials read."""

    def __init__(self, token: str, password: str) -> None:
        self.token, self.password = token, password
        self.auth = SimpleNamespace(jwt=self)

    def jwt_login(self, role: str, jwt: str, path: str) -> dict[str, Any]:
        return {"auth": {"client_token": self.token, "lease_duration": 300}}

    def read(self, path: str) -> dict[str, Any]:
        return {
            "lease_id": f"{path}/lease",
            "lease_duration": 60,
            "renewable": True,
            "data": {"username": "v-ledger-sync-user", "password": self.password},
        }


def test_vault_login_jwt_vault_token_and_database_password() -> None:
    login_jwt, token, password = fresh("jwt"), fresh("hvs"), fresh("pw")
    credentials = DynamicDatabaseCredentials(
        conn_id="mongo_ledger_sync",
        settings=VaultSettings(
            url="https://vault.acme.internal:8200",
            auth_mount="jwt",
            auth_role="ledger-sync",
            iam_server_id_header_value="vault.acme.internal",
            db_mount="atlas",
            db_role="ledger-sync",
        ),
        login=JwtLogin(role="ledger-sync", jwt=lambda: login_jwt),
        client_factory=lambda url: FakeVault(token, password),
    )
    assert credentials.get().password == password
    assert_redacted(login_jwt, token, password)


def test_aws_session_credentials() -> None:
    secret, session_token = fresh("secret"), fresh("session")

    class Sts:
        def assume_role(self, **kwargs: Any) -> dict[str, Any]:
            return {
                "Credentials": {
                    "AccessKeyId": "ASIAEXAMPLE",
                    "SecretAccessKey": secret,
                    "SessionToken": session_token,
                    "Expiration": datetime.now(UTC) + timedelta(hours=1),
                },
                "AssumedRoleUser": {"Arn": "arn:aws:sts::1:assumed-role/r/s"},
            }

    AssumedRoleCredentials(
        conn_id="c",
        role=ROLE,
        run=RunContext(dag_id="d", task_id="t", run_id="r"),
        sts_client_factory=lambda region: Sts(),
    ).get()
    assert_redacted(secret, session_token)
