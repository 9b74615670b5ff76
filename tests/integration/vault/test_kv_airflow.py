"""Connection definitions in OpenBao KV v2, read back through Airflow's stock `VaultBackend`.

Only prod keeps its definitions in Vault. The plan's backend kwargs are used as they are, except
the login: OpenBao has no AWS auth method, so the backend logs in with `auth_type="token"` and a
token of the test server instead of `aws_iam` (the execution role's AWS login is not verified).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import hvac
import pytest
from hvac.exceptions import Forbidden
from pymongo import MongoClient
from pymongo.auth_oidc import OIDCCallback, OIDCCallbackContext, OIDCCallbackResult

from devtools.services.openbao import OpenBaoServer
from tests.integration.vault.conftest import PlannedStack, TokenFactory

pytestmark = pytest.mark.integration

STACK = "prod"
MOUNT = "vault:index/mount:Mount"
KV_SECRET = "vault:kv/secretV2:SecretV2"
VAULT_BACKEND = "airflow.providers.hashicorp.secrets.vault.VaultBackend"
# Login settings of the plan that only apply to AWS IAM auth, replaced by a token here.
AWS_LOGIN_KWARGS = {"auth_type", "auth_mount_point", "role_id", "region", "url"}


# A stand-in for the signing key the program generates (a secret, "[secret]" in the plan).
@pytest.fixture(scope="session")
def prod(loaded: dict[str, PlannedStack]) -> PlannedStack:
    return loaded[STACK]


@pytest.fixture(scope="session")
def kv(prod: PlannedStack, root_client: hvac.Client) -> dict[str, dict[str, Any]]:
    """The KV mount and every entry, written as the plan declares them. Path -> data."""
    (mount,) = [r["inputs"] for r in prod.resources(MOUNT) if r["inputs"]["type"] == "kv"]
    # The bearer-token suite may have mounted it already (for its decoy key) in this session.
    if f"{mount['path']}/" not in root_client.sys.list_mounted_secrets_engines()["data"]:
        root_client.sys.enable_secrets_engine(
            backend_type="kv", path=mount["path"], options=mount["options"]
        )
    definitions = prod.outputs["connectionDefinitions"]
    written: dict[str, dict[str, Any]] = {}
    for secret in prod.resources(KV_SECRET):
        inputs = secret["inputs"]
        assert inputs["mount"] == mount["path"]
        kind, name = inputs["name"].split("/")
        assert kind == "connections"
        data = definitions[name]
        root_client.secrets.kv.v2.create_or_update_secret(
            path=inputs["name"], secret=data, mount_point=inputs["mount"]
        )
        written[inputs["name"]] = data
    return written


def backend_kwargs(prod: PlannedStack, server: OpenBaoServer, token: str) -> dict[str, Any]:
    options = prod.outputs["airflowConfigurationOptions"]
    assert options["secrets.backend"] == VAULT_BACKEND
    kwargs = json.loads(options["secrets.backend_kwargs"])
    assert kwargs["auth_type"] == "aws_iam"
    kept = {k: v for k, v in kwargs.items() if k not in AWS_LOGIN_KWARGS}
    return {**kept, "url": server.url, "auth_type": "token", "token": token}


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    if "airflow" not in sys.modules:  # keep Airflow's files out of the user's home
        os.environ.setdefault("AIRFLOW_HOME", str(home))
    return home


def vault_backend(kwargs: dict[str, Any]) -> Any:
    from airflow.providers.hashicorp.secrets.vault import VaultBackend

    return VaultBackend(**kwargs)


def test_the_backend_settings_point_at_the_kv_mount_and_read_connections_only(
    prod: PlannedStack,
) -> None:
    kwargs = json.loads(prod.outputs["airflowConfigurationOptions"]["secrets.backend_kwargs"])
    e = prod.expected
    assert {k: kwargs[k] for k in sorted(set(kwargs) - AWS_LOGIN_KWARGS)} == {
        "config_path": None,
        "connections_path": "connections",
        "kv_engine_version": 2,
        "mount_point": e.kv_mount,
        "variables_path": None,
    }
    assert (kwargs["auth_mount_point"], kwargs["role_id"]) == (
        e.airflow_aws_mount,
        f"{e.base}-airflow",
    )


def test_kv_holds_one_definition_per_pipeline_and_no_key(
    prod: PlannedStack, kv: dict[str, dict[str, Any]]
) -> None:
    e = prod.expected
    assert set(kv) == {f"connections/{e.connection_id(p)}" for p in e.pipelines}


def test_stored_definitions_read_back_as_planned_and_hold_no_secret(
    prod: PlannedStack, kv: dict[str, dict[str, Any]], root_client: hvac.Client
) -> None:
    for conn_id, definition in prod.outputs["connectionDefinitions"].items():
        stored = root_client.secrets.kv.v2.read_secret_version(
            path=f"connections/{conn_id}",
            mount_point=prod.expected.kv_mount,
            raise_on_deleted_version=True,
        )["data"]["data"]
        assert stored == definition
        assert not {"login", "password", "conn_uri"} & set(stored)
        text = json.dumps(stored).lower()
        assert "private_key_pem" not in text
        assert "password" not in text


@pytest.mark.parametrize("who", ["root", "execution role"])
def test_stock_vault_backend_returns_each_planned_connection(
    prod: PlannedStack,
    kv: dict[str, dict[str, Any]],
    openbao: OpenBaoServer,
    token_with: TokenFactory,
    airflow_home: Path,
    who: str,
) -> None:
    token = (
        openbao.root_token if who == "root" else token_with([prod.expected.execution_policy], True)
    )
    backend = vault_backend(backend_kwargs(prod, openbao, token))
    for conn_id, definition in prod.outputs["connectionDefinitions"].items():
        conn = backend.get_connection(conn_id)
        assert conn is not None, conn_id
        assert (conn.conn_id, conn.conn_type, conn.host, conn.schema) == (
            conn_id,
            "mongo",
            definition["host"],
            definition["schema"],
        )
        assert (conn.login, conn.password, conn.port) == (None, None, None)
        assert conn.extra_dejson == definition["extra"]
        assert conn.extra_dejson["atlas_identity"]["pipeline"] in prod.expected.pipelines


def test_stock_vault_backend_returns_none_for_an_id_not_in_kv(
    prod: PlannedStack, kv: dict[str, dict[str, Any]], openbao: OpenBaoServer, airflow_home: Path
) -> None:
    backend = vault_backend(backend_kwargs(prod, openbao, openbao.root_token))
    for conn_id in ("aws_default", "mongo_default", "mongo_orders"):
        assert backend.get_connection(conn_id) is None


def test_execution_role_backend_returns_none_for_an_id_it_does_not_own(
    prod: PlannedStack,
    kv: dict[str, dict[str, Any]],
    openbao: OpenBaoServer,
    token_with: TokenFactory,
    airflow_home: Path,
) -> None:
    token = token_with([prod.expected.execution_policy], True)
    backend = vault_backend(backend_kwargs(prod, openbao, token))
    assert backend.get_connection("aws_default") is None


def test_execution_role_token_reads_definitions_but_cannot_write_or_read_keys(
    prod: PlannedStack,
    kv: dict[str, dict[str, Any]],
    openbao: OpenBaoServer,
    token_with: TokenFactory,
) -> None:
    e = prod.expected
    client = openbao.client(token_with([e.execution_policy], True))
    outcomes = {}
    for path, data in kv.items():
        read = "refused"
        try:
            stored = client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=e.kv_mount, raise_on_deleted_version=True
            )
            read = "same" if stored["data"]["data"] == data else "different"
        except Forbidden:
            pass
        try:
            client.secrets.kv.v2.create_or_update_secret(
                path=path,
                secret={"conn_type": "mongo", "host": "evil.example"},
                mount_point=e.kv_mount,
            )
            write = "written"
        except Forbidden:
            write = "refused"
        outcomes[path] = (read, write)
    assert outcomes == {
        path: ("same" if path.startswith("connections/") else "refused", "refused") for path in kv
    }
    # Nothing was overwritten: still version 1 everywhere.
    for path in kv:
        meta = openbao.client().secrets.kv.v2.read_secret_metadata(
            path=path, mount_point=e.kv_mount
        )
        assert meta["data"]["current_version"] == 1, path


def test_pipeline_tokens_read_their_own_entries_only(
    prod: PlannedStack,
    kv: dict[str, dict[str, Any]],
    openbao: OpenBaoServer,
    token_with: TokenFactory,
) -> None:
    e = prod.expected
    readable: dict[str, set[str]] = {}
    for pipeline in e.pipelines:
        if not e.own_grants(pipeline):
            continue
        client = openbao.client(token_with([e.policy_name(pipeline)], True))
        for path in kv:
            try:
                client.secrets.kv.v2.read_secret_version(
                    path=path, mount_point=e.kv_mount, raise_on_deleted_version=True
                )
                readable.setdefault(pipeline, set()).add(path)
            except Forbidden:
                pass
    assert readable == {
        "finance-reconcile": {"connections/mongo_finance_reconcile"},
    }


HOOK_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from airflow.providers.mongo.hooks.mongo import MongoHook

    out = {}
    for conn_id in sys.argv[1:]:
        hook = MongoHook(mongo_conn_id=conn_id)
        try:
            hook.get_conn()
            built = "client built"
        except Exception as error:
            built = f"{type(error).__name__}: {str(error).split('.')[0]}"
        out[conn_id] = {"uri": hook.uri, "extras": hook.extras, "conn_type": hook.connection.conn_type,
                        "allow_insecure": hook.allow_insecure, "get_conn": built}
    print(json.dumps(out))
    """
)


class _StubCallback(OIDCCallback):
    def fetch(self, context: OIDCCallbackContext) -> OIDCCallbackResult:
        raise AssertionError("no authentication happens with connect=False")


def test_stock_mongo_hook_builds_its_client_from_the_vault_backend(
    prod: PlannedStack, kv: dict[str, dict[str, Any]], openbao: OpenBaoServer, airflow_home: Path
) -> None:
    """Airflow configured through AIRFLOW__SECRETS__BACKEND(_KWARGS), in a fresh process."""
    definitions = prod.outputs["connectionDefinitions"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VAULT_", "BAO_"))},
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__SECRETS__BACKEND": VAULT_BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
            backend_kwargs(prod, openbao, openbao.root_token)
        ),
        "NO_PROXY": "127.0.0.1",
    }
    result = subprocess.run(
        [sys.executable, "-c", HOOK_SCRIPT, *sorted(definitions)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    built = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(built) == set(definitions)
    for conn_id, definition in definitions.items():
        hook = built[conn_id]
        extra = definition["extra"]
        assert hook["conn_type"] == "mongo"
        assert hook["uri"] == f"mongodb+srv://{definition['host']}/{definition['schema']}"
        assert hook["extras"] == {k: v for k, v in extra.items() if k != "srv"}
        assert hook["allow_insecure"] is False
        # The stock hook passes every extra to MongoClient; `atlas_identity` is for the runtime
        # hook, which removes it (docs/connection-contract.md). The stock client refuses it.
        assert hook["get_conn"] == "ConfigurationError: Unknown option: atlas_identity"

        options = {k: v for k, v in hook["extras"].items() if k != "atlas_identity"}
        mode = extra["atlas_identity"]["auth_mode"]
        if mode == "vault-dynamic":  # the runtime adds the user Vault creates
            options |= {"username": "v-finance-reconcile-x", "password": "from-vault"}
        if mode == "okta-oidc":  # the runtime adds its Okta callback
            options["authMechanismProperties"] = {"OIDC_CALLBACK": _StubCallback()}
        client: MongoClient[dict[str, Any]] = MongoClient(hook["uri"], connect=False, **options)
        credentials = client.options.pool_options._credentials  # pymongo keeps them here
        assert credentials is not None
        assert (credentials.mechanism, credentials.source) == (
            extra["authMechanism"],
            extra["authSource"],
        )
        assert client.options.pool_options.metadata["application"] == {"name": extra["appname"]}
        client.close()
