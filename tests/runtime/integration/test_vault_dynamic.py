"""vault-dynamic against real Airflow 3, OpenBao and PostgreSQL (stand-in for Atlas' plugin).

OpenBao has no MongoDB Atlas plugin and no AWS auth: its database engine with the PostgreSQL
plugin issues the short leases, and the worker logs in with AppRole (the pluggable login); the
AWS IAM login request itself is unit-tested. The connection definitions are read through
Airflow's stock VaultBackend from OpenBao KV.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidRequest

from atlas_identity.vault import renew_lease, revoke_lease
from devtools.services.local import Postgres
from devtools.services.openbao import OpenBaoServer
from tests.runtime.integration.conftest import Airflow

PIPELINE = "ledger-sync"
CONN_ID = "mongo_ledger_sync"
# Vault's PostgreSQL plugin: v-<display name>-<role>-<random>-<unix time>, cut to 63 chars.
VAULT_USER = re.compile(r"^v-approle-ledger-s[\w-]+$")


@dataclass(frozen=True)
class VaultWorld:
    openbao: OpenBaoServer
    postgres: Postgres
    env: dict[str, str]

    def live_roles(self) -> set[str]:
        rows = self.postgres.psql("select rolname from pg_roles where rolname like 'v-%'")
        return set(rows.split()) if rows else set()


def approle(client: hvac.Client, name: str, policy: str, **role: Any) -> tuple[str, str]:
    client.sys.create_or_update_policy(name=name, policy=policy)
    client.auth.approle.create_or_update_approle(role_name=name, token_policies=[name], **role)
    role_id = client.auth.approle.read_role_id(role_name=name)["data"]["role_id"]
    secret_id = client.auth.approle.generate_secret_id(role_name=name)["data"]["secret_id"]
    return role_id, secret_id


@pytest.fixture(scope="module")
def vault(
    openbao: OpenBaoServer, postgres: Postgres, workdir: Path, plan: dict[str, Any]
) -> VaultWorld:
    """The planned vault-dynamic definition and pipeline policy, on OpenBao at the planned
    mount and role; only the Vault URL is pointed at the local server."""
    definition = copy.deepcopy(plan["outputs"]["connectionDefinitions"][CONN_ID])
    settings = definition["extra"]["atlas_identity"]["vault"]
    settings["url"] = openbao.url
    mount, role = settings["db_mount"], settings["db_role"]
    root = hvac.Client(url=openbao.url, token=openbao.root_token)
    root.sys.enable_secrets_engine("database", path=mount)
    root.write(
        f"{mount}/config/pg",
        plugin_name="postgresql-database-plugin",
        connection_url=f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:"
        f"{postgres.port}/postgres?sslmode=disable",
        username=postgres.superuser,
        password=postgres.password,
        allowed_roles=role,
    )
    # Short on purpose: a lease lives 4 s (at most 8 s with renewals), a token 10 s.
    root.write(
        f"{mount}/roles/{role}",
        db_name="pg",
        creation_statements=[
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
            "VALID UNTIL '{{expiration}}';"
        ],
        default_ttl="4s",
        max_ttl="8s",
    )
    root.sys.enable_auth_method("approle")
    # The program's own policy for the pipeline (AppRole stands in for AWS IAM login).
    policy = plan["outputs"]["vaultPolicies"][f"aai-runtime-it-{PIPELINE}"]
    pipeline_role, pipeline_secret = approle(
        root, PIPELINE, policy, token_ttl="10s", token_max_ttl="60s"
    )
    worker_role, worker_secret = approle(
        root,
        "airflow-worker",
        'path "secret/data/airflow/connections/*" { capabilities = ["read"] }\n',
        token_ttl="10m",
    )
    root.secrets.kv.v2.create_or_update_secret(
        path=f"airflow/connections/{CONN_ID}", secret=definition, mount_point="secret"
    )
    ids = workdir / "approle"
    ids.mkdir()
    (ids / f"{PIPELINE}.role_id").write_text(pipeline_role)
    (ids / f"{PIPELINE}.secret_id").write_text(pipeline_secret)
    backend_kwargs = {
        "url": openbao.url,
        "mount_point": "secret",
        "connections_path": "airflow/connections",
        "variables_path": None,
        "config_path": None,
        "kv_engine_version": 2,
        "auth_type": "approle",
        "role_id": worker_role,
        "secret_id": worker_secret,
    }
    return VaultWorld(
        openbao=openbao,
        postgres=postgres,
        env={
            "AIRFLOW__SECRETS__BACKEND": "airflow.providers.hashicorp.secrets.vault.VaultBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(backend_kwargs),
            "AIRFLOW__ATLAS_IDENTITY__VAULT_LOGIN": "approle",
            "AIRFLOW__ATLAS_IDENTITY__VAULT_APPROLE_ROLE_ID_FILE": str(ids / "{pipeline}.role_id"),
            "AIRFLOW__ATLAS_IDENTITY__VAULT_APPROLE_SECRET_ID_FILE": str(
                ids / "{pipeline}.secret_id"
            ),
            "IT_PG_DSN": f"host=127.0.0.1 port={postgres.port} dbname=postgres",
            "IT_PSQL": str(postgres.bindir / "psql"),
        },
    )


def test_example_dag_gets_a_vault_issued_user_and_revokes_it(
    airflow: Airflow, vault: VaultWorld
) -> None:
    run = airflow.dags_test("atlas_vault_dynamic_example", env=vault.env, conf={"dry_run": True})
    assert (run.state, run.failed_tasks) == ("success", ()), run.output[-4000:]
    summary = run.xcom["sync_ledger"]
    username = summary.pop("identity")
    assert summary == {
        "conn_id": CONN_ID,
        "auth_mode": "vault-dynamic",
        "mechanism": "SCRAM-SHA-256",
        "source": "admin",
    }
    assert VAULT_USER.match(username), username
    # The hook closed: the lease was revoked and Vault dropped the user.
    assert username not in vault.live_roles()


def test_a_task_outliving_leases_and_tokens_keeps_working_users(
    airflow: Airflow, vault: VaultWorld
) -> None:
    run = airflow.dags_test(
        "it_vault_dynamic_expiry",
        env=vault.env,
        conf={"conn_id": CONN_ID, "run_seconds": 14},
        use_executor=True,
    )
    assert (run.state, run.failed_tasks) == ("success", ()), run.output[-4000:]
    result = run.xcom["long_task"]
    users = result["users"]
    assert result["failed_logins"] == 0
    assert len(users) >= 2
    assert len(set(users)) == len(users)
    assert all(VAULT_USER.match(u) for u in users)
    assert result["leases"] == len(users)
    assert result["vault_logins"] >= 2  # tokens live 10 s: the task logged in again
    assert result["renewals"] >= 1
    assert not set(users) & vault.live_roles()  # every lease revoked on close
    assert run.task_log.count("database password in use: ***") == len(users)
    assert run.task_log.count("in use: ") == len(users)


def test_a_pipeline_token_without_default_renews_and_revokes_only_its_own_leases(
    vault: VaultWorld, plan: dict[str, Any]
) -> None:
    """Real leases, the runtime's own renew/revoke calls, a token holding exactly the program's
    pipeline policy (no `default` policy, which would let any token renew any lease it knows).

    OpenBao's database engine with the PostgreSQL plugin stands in for the Atlas plugin: the ACL
    check on `sys/leases/{renew,revoke}/<lease id>` sees only the path, and a lease id is
    `<mount>/creds/<role>/<random>` whichever plugin issued it, so the outcome is the same.
    """
    definition = plan["outputs"]["connectionDefinitions"][CONN_ID]
    settings = definition["extra"]["atlas_identity"]["vault"]
    mount, role = settings["db_mount"], settings["db_role"]
    root = hvac.Client(url=vault.openbao.url, token=vault.openbao.root_token)
    # Another pipeline's role on the same mount; its lease is read by root.
    other = "other-pipeline"
    root.write(
        f"{mount}/roles/{other}",
        db_name="pg",
        creation_statements=["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}';"],
        default_ttl="5m",
        max_ttl="10m",
    )
    root.write(f"{mount}/config/pg", allowed_roles=f"{role},{other}")
    # The `vault` fixture wrote the planned policy under the pipeline's name.
    planned = plan["outputs"]["vaultPolicies"][f"aai-runtime-it-{PIPELINE}"]
    assert root.sys.read_policy(name=PIPELINE)["data"]["rules"] == planned
    policy_name = PIPELINE
    token = root.auth.token.create(policies=[policy_name], no_default_policy=True, ttl="5m")
    pipeline = hvac.Client(url=vault.openbao.url, token=token["auth"]["client_token"])
    # Exactly the pipeline policy: without `default` the token may not even look itself up.
    assert root.auth.token.lookup(pipeline.token)["data"]["policies"] == [policy_name]

    own = pipeline.read(f"{mount}/creds/{role}")["lease_id"]
    foreign = root.read(f"{mount}/creds/{other}")["lease_id"]
    assert own.startswith(f"{mount}/creds/{role}/")
    assert foreign.startswith(f"{mount}/creds/{other}/")

    renewed = renew_lease(pipeline, own, increment=4)
    assert renewed["lease_id"] == own
    assert renewed["lease_duration"] > 0
    with pytest.raises(Forbidden):
        renew_lease(pipeline, foreign, increment=60)
    with pytest.raises(Forbidden):
        revoke_lease(pipeline, foreign)
    revoke_lease(pipeline, own)

    def alive(lease_id: str) -> bool:
        try:
            root.sys.read_lease(lease_id=lease_id)
        except InvalidRequest:  # "invalid lease": revoked
            return False
        return True

    assert (alive(own), alive(foreign)) == (False, True)
    root.sys.revoke_lease(lease_id=foreign)
