"""`AtlasIdentityMongoHook`: a MongoHook that brings its own short-lived credentials."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowNotFoundException  # type: ignore[attr-defined]
from airflow.providers.mongo.hooks.mongo import MongoHook
from botocore.exceptions import BotoCoreError, ClientError
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from atlas_identity.aws import BOTO_CONFIG, AssumedRoleCredentials, RunContext
from atlas_identity.contract import (
    AwsIamIdentity,
    AwsSecretsManagerKey,
    ContractError,
    OktaOidcIdentity,
    RuntimeIdentity,
    VaultDynamicIdentity,
    parse_extras,
)
from atlas_identity.errors import AtlasIdentityError, Step
from atlas_identity.masking import mask
from atlas_identity.oidc import (
    OktaOidcCallback,
    OktaTokenSource,
    SigningKey,
    parse_signing_key,
)
from atlas_identity.vault import (
    DynamicDatabaseCredentials,
    VaultLogin,
    read_kv_data,
)
from atlas_identity.worker_config import vault_login as configured_vault_login

if TYPE_CHECKING:
    from types import TracebackType

# Atlas can take seconds to accept a user Vault just created: retry authentication this long.
USER_PROPAGATION_SECONDS = 60.0
AUTHENTICATION_FAILED = 18

VaultLoginFactory = Callable[[VaultDynamicIdentity, AssumedRoleCredentials], VaultLogin]


def current_run() -> RunContext:
    """The running task instance, or a process-scoped stand-in outside a task."""
    try:
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
        return RunContext(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id)
    except Exception:  # not inside a task (tests, shells): still name the session usefully
        return RunContext(dag_id="adhoc", task_id="adhoc", run_id=f"pid-{os.getpid()}")


class AtlasIdentityMongoHook(MongoHook):
    """MongoDB hook for connections written by the program (identity-first, no stored secret).

    Reads `mongo_conn_id` through Airflow's configured secrets backend exactly like `MongoHook`,
    removes `extra.atlas_identity`, and builds the `MongoClient` for the connection's auth mode:

    - `aws-iam`: assumes the pipeline role (session named and tagged with the DAG run) and
      authenticates with MONGODB-AWS;
    - `okta-oidc`: MONGODB-OIDC with a callback that mints Okta tokens (client credentials,
      signed JWT assertion) and mints a new one whenever the server asks to re-authenticate;
    - `vault-dynamic`: logs in to Vault as the pipeline, uses a user from
      `<db_mount>/creds/<db_role>`, renews or replaces it before it ends, revokes on close.

    `get_conn()` returns a client whose credentials are good for at least the refresh margin:
    when the static credentials of the current client (aws-iam, vault-dynamic) near their end,
    it builds a new client with fresh ones. All `MongoHook` helpers (`get_collection`,
    `insert_many`, `find`, ...) call `get_conn()`, so long tasks that use them never hold stale
    credentials. Clients replaced this way stay open (their cursors keep working) until `close()`.

    :param mongo_conn_id: connection id, `mongo_<pipeline>`.
    :param client_kwargs: extra `MongoClient` keyword arguments (e.g. `connect=False`).
    :param max_session_seconds: request shorter STS sessions than the contract's maximum.
    :param vault_login: how to log in to Vault; default from `[atlas_identity] vault_login`.
    :param run: the task instance naming the STS session; default: the current task.
    :param sts_client_factory: region -> STS client; default: boto3 with the worker's
        credentials (honours `AWS_ENDPOINT_URL_STS`).
    """

    hook_name = "MongoDB Atlas (identity-first)"

    def __init__(
        self,
        mongo_conn_id: str = MongoHook.default_conn_name,
        *,
        client_kwargs: Mapping[str, Any] | None = None,
        max_session_seconds: int | None = None,
        vault_login: VaultLoginFactory | None = None,
        run: RunContext | None = None,
        sts_client_factory: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            super().__init__(mongo_conn_id, **kwargs)
        except AirflowNotFoundException:
            raise AtlasIdentityError(
                mongo_conn_id,
                Step.CONNECTION_LOOKUP,
                "no secrets backend returned it: either the definition is missing or the "
                "secrets backend could not be reached or refused the read (its debug log names "
                "the cause); check [secrets] backend_kwargs and the worker's network and role",
            ) from None
        if self.connection.password:
            raise ContractError(
                mongo_conn_id,
                ["password: must not be set; credentials come from the pipeline's identity"],
            )
        parsed = parse_extras(self.extras, conn_id=mongo_conn_id)
        self.extras = parsed.mongo_extras
        self.identity: RuntimeIdentity = parsed.identity
        self._client_kwargs = dict(client_kwargs or {})
        self._max_session_seconds = max_session_seconds
        self._vault_login_factory = vault_login
        self._run = run
        self._sts_client_factory = sts_client_factory
        self._role_credentials: AssumedRoleCredentials | None = None
        self._token_source: OktaTokenSource | None = None
        self._db_credentials: DynamicDatabaseCredentials | None = None
        self._client_key: object = None
        self._retired: list[MongoClient[Any]] = []
        self.callback: OktaOidcCallback | None = None

    # -- identities -----------------------------------------------------------------------

    @property
    def run(self) -> RunContext:
        if self._run is None:
            self._run = current_run()
        return self._run

    @property
    def role_credentials(self) -> AssumedRoleCredentials:
        """The pipeline role's refreshing STS credentials (aws-iam, vault-dynamic, okta key)."""
        if self._role_credentials is None:
            self._role_credentials = AssumedRoleCredentials(
                conn_id=self.mongo_conn_id,
                role=self.identity.role,
                run=self.run,
                max_session_seconds=self._max_session_seconds,
                sts_client_factory=self._sts_client_factory,
            )
        return self._role_credentials

    @property
    def token_source(self) -> OktaTokenSource:
        assert isinstance(self.identity, OktaOidcIdentity)
        if self._token_source is None:
            identity = self.identity
            self._token_source = OktaTokenSource(
                conn_id=self.mongo_conn_id,
                identity=identity,
                private_key=lambda: self._read_signing_key(identity),
            )
        return self._token_source

    @property
    def db_credentials(self) -> DynamicDatabaseCredentials:
        assert isinstance(self.identity, VaultDynamicIdentity)
        if self._db_credentials is None:
            identity = self.identity
            if self._vault_login_factory is not None:
                login = self._vault_login_factory(identity, self.role_credentials)
            else:
                login = configured_vault_login(
                    conn_id=self.mongo_conn_id,
                    pipeline=identity.pipeline,
                    auth_mount=identity.vault.auth_mount,
                    auth_role=identity.vault.auth_role,
                    iam_server_id_header_value=identity.vault.iam_server_id_header_value,
                    credentials=lambda: self.role_credentials,
                )
            self._db_credentials = DynamicDatabaseCredentials(
                conn_id=self.mongo_conn_id, settings=identity.vault, login=login
            )
        return self._db_credentials

    def _read_signing_key(self, identity: OktaOidcIdentity) -> SigningKey:
        ref = identity.private_key
        if isinstance(ref, AwsSecretsManagerKey):
            session = self.role_credentials.boto3_session()
            try:
                value = session.client(
                    "secretsmanager", region_name=ref.region, config=BOTO_CONFIG
                ).get_secret_value(SecretId=ref.secret_id)["SecretString"]
            except ClientError as e:
                error = e.response.get("Error", {})
                raise AtlasIdentityError(
                    self.mongo_conn_id,
                    Step.PRIVATE_KEY_READ,
                    f"secret {ref.secret_id}: {error.get('Code', 'error')}: "
                    f"{error.get('Message', '')}",
                ) from None
            except BotoCoreError as e:
                raise AtlasIdentityError(
                    self.mongo_conn_id,
                    Step.PRIVATE_KEY_READ,
                    f"secret {ref.secret_id}: {type(e).__name__}: {e}",
                ) from None
            mask(value, "signing_key")
            return self._signing_key(str(value))
        login = configured_vault_login(
            conn_id=self.mongo_conn_id,
            pipeline=identity.pipeline,
            auth_mount=ref.auth_mount,
            auth_role=ref.auth_role,
            iam_server_id_header_value=ref.iam_server_id_header_value,
            credentials=lambda: self.role_credentials,
        )
        document = read_kv_data(
            conn_id=self.mongo_conn_id, url=ref.url, mount=ref.mount, path=ref.path, login=login
        )
        return self._signing_key(json.dumps(document))

    def _signing_key(self, document: str) -> SigningKey:
        mask(document, "signing_key_document")  # as read, and as json.dumps'ed from Vault KV
        try:
            key = parse_signing_key(document)
        except ValueError as e:
            raise AtlasIdentityError(self.mongo_conn_id, Step.PRIVATE_KEY_READ, str(e)) from None
        mask(key.private_key_pem, "private_key_pem")
        return key

    # -- client -----------------------------------------------------------------------------

    def _auth_options(self) -> tuple[object, dict[str, Any]]:
        """(key identifying the credentials, MongoClient auth options) for the auth mode."""
        identity = self.identity
        if isinstance(identity, AwsIamIdentity):
            c = self.role_credentials.get()
            return c.access_key_id, {
                "username": c.access_key_id,
                "password": c.secret_access_key,
                "authMechanismProperties": {"AWS_SESSION_TOKEN": c.session_token},
            }
        if isinstance(identity, OktaOidcIdentity):
            # Fail fast: a token endpoint or key problem surfaces here, not at first query.
            self.token_source.token()
            callback = OktaOidcCallback(self.token_source)
            return "oidc", {"authMechanismProperties": {"OIDC_CALLBACK": callback}}
        d = self.db_credentials.get()
        return (d.generation, d.lease_id), {"username": d.username, "password": d.password}

    def get_conn(self) -> MongoClient[Any]:
        """A client with credentials that are good for at least the refresh margin."""
        key, auth = self._auth_options()
        if self.client is not None and key == self._client_key:
            return self.client
        if self.client is not None:
            self._retired.append(self.client)
        options: dict[str, Any] = {**self.extras, **auth, **self._client_kwargs}
        if self.allow_insecure:
            options["tlsAllowInvalidCertificates"] = True
        client: MongoClient[Any] = MongoClient(self.uri, **options)
        callback = auth.get("authMechanismProperties", {}).get("OIDC_CALLBACK")
        if isinstance(callback, OktaOidcCallback):
            self.callback = callback
        if isinstance(self.identity, VaultDynamicIdentity) and options.get("connect", True):
            self._wait_until_usable(client)
        self.client = client
        self._client_key = key
        return client

    def _wait_until_usable(self, client: MongoClient[Any]) -> None:
        """Retry authentication while Atlas propagates a user Vault has just created."""
        deadline = time.monotonic() + USER_PROPAGATION_SECONDS
        wait = 0.5
        while True:
            try:
                client.admin.command("ping")
                return
            except OperationFailure as e:
                if e.code != AUTHENTICATION_FAILED or time.monotonic() + wait > deadline:
                    raise AtlasIdentityError(
                        self.mongo_conn_id,
                        Step.AUTHENTICATE,
                        f"Atlas did not accept the Vault-issued user: {e.code}: "
                        f"{e.details.get('errmsg', '') if e.details else ''}",
                    ) from None
            time.sleep(wait)
            wait = min(wait * 2, 5.0)

    def close(self) -> None:
        """Close every client this hook built and revoke the Vault leases it obtained."""
        clients = [*self._retired, *([self.client] if self.client is not None else [])]
        self._retired, self.client = [], None
        for client in clients:
            client.close()
        if self._db_credentials is not None:
            self._db_credentials.revoke()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()

    def describe_identity(self) -> dict[str, Any]:
        """What the current client authenticates as, without any secret (for logs and XCom)."""
        client = self.get_conn()
        credential = client.options.pool_options._credentials
        summary: dict[str, Any] = {
            "conn_id": self.mongo_conn_id,
            "auth_mode": self.identity.auth_mode.value,
            "mechanism": credential.mechanism if credential else None,
            "source": credential.source if credential else None,
        }
        if isinstance(self.identity, AwsIamIdentity):
            summary["identity"] = self.role_credentials.get().assumed_role_arn
        elif isinstance(self.identity, OktaOidcIdentity):
            summary["identity"] = self.identity.client_id
            summary["oidc_callback"] = type(
                credential.mechanism_properties.callback if credential else None
            ).__name__
        else:
            summary["identity"] = credential.username if credential else None
        return summary
