"""vault-dynamic attribution on a real OpenBao file audit log, written while the runtime takes an
STS session (moto), logs in to Vault and reads database credentials (PostgreSQL stands in for
Atlas' plugin, as in tests/runtime/integration/test_vault_dynamic.py).

The database mount is configured as the plan declares it (`auditNonHmacResponseKeys`), so the
log shows the issued user in clear text and its password HMACed. OpenBao has no AWS auth
method: AppRole stands in for it, its secret id carrying the metadata Vault's AWS auth sets on
the token (`client_arn`, the caller's STS ARN: Vault source, builtin/credential/aws/
path_login.go), which is what the evidence joins on. The AssumeRole CloudTrail record is built
from the real STS exchange (request and response), in CloudTrail's documented shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import hvac
import pytest

from atlas_identity.aws import (
    AssumedRoleCredentials,
    RunContext,
    role_session_name,
    session_tags,
    source_identity,
)
from atlas_identity.contract import PipelineRole, VaultSettings
from atlas_identity.vault import AppRoleLogin, DynamicDatabaseCredentials
from bench.audit_samples import (
    Inputs,
    assume_role_record,
    assumed_role_identity,
    auth_check,
    authenticate,
    write_atlas_host,
    write_trail,
)
from devtools.services.local import Moto, ServiceError, start_moto, start_postgres
from devtools.services.openbao import OpenBaoServer, running_openbao
from tests.audit_trail.conftest import ROOT, run_command

PLAN = ROOT / "tests" / "runtime" / "integration" / "stacks" / "runtime-it.plan.json"
CONN_ID = "mongo_ledger_sync"
VAULT_MOUNT = "vault:index/mount:Mount"


@pytest.fixture
def audit_log(tmp_path: Path) -> Path:
    return tmp_path / "vault-audit.log"


@pytest.fixture
def openbao(audit_log: Path) -> Iterator[OpenBaoServer]:
    config = f'audit "file" "file" {{\n  options {{\n    file_path = "{audit_log}"\n  }}\n}}\n'
    with running_openbao(config=config) as server:
        yield server


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[Moto]:
    try:
        server = start_moto(tmp_path)
    except ServiceError as e:
        pytest.fail(f"moto could not start: {e}")
    yield server
    server.process.stop()


def planned_database_mount(plan: dict[str, Any], path: str) -> dict[str, Any]:
    (mount,) = [
        r["inputs"]
        for r in plan["resources"]
        if r["type"] == VAULT_MOUNT and r["inputs"].get("path") == path
    ]
    return dict(mount)


def configure_vault(
    root: hvac.Client, plan: dict[str, Any], settings: dict[str, str], pg: Any
) -> None:
    """The planned database mount (PostgreSQL plugin standing in for Atlas' one)."""
    mount, role = settings["db_mount"], settings["db_role"]
    planned = planned_database_mount(plan, mount)
    root.sys.enable_secrets_engine(
        "database",
        path=mount,
        config={"audit_non_hmac_response_keys": planned["auditNonHmacResponseKeys"]},
    )
    root.write(
        f"{mount}/config/pg",
        plugin_name="postgresql-database-plugin",
        connection_url=f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:"
        f"{pg.port}/postgres?sslmode=disable",
        username=pg.superuser,
        password=pg.password,
        allowed_roles=role,
    )
    root.write(
        f"{mount}/roles/{role}",
        db_name="pg",
        creation_statements=[
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
            "VALID UNTIL '{{expiration}}';"
        ],
        default_ttl="5m",
        max_ttl="10m",
    )


def test_a_vault_issued_user_is_traced_to_its_lease_login_session_and_run(
    tmp_path: Path, openbao: OpenBaoServer, moto: Moto, audit_log: Path
) -> None:
    plan = json.loads(PLAN.read_text())
    definition = plan["outputs"]["connectionDefinitions"][CONN_ID]
    identity = definition["extra"]["atlas_identity"]
    settings = identity["vault"]
    pg = start_postgres(tmp_path)
    try:
        root = openbao.client()
        configure_vault(root, plan, settings, pg)

        # The run's STS session, taken by the runtime from moto's STS.
        run = RunContext(
            dag_id="ledger_sync_daily",
            task_id="sync",
            run_id="scheduled__2026-12-01T00:00:00+00:00",
        )
        assumed_at = datetime.now(UTC).replace(microsecond=0)
        role = AssumedRoleCredentials(
            conn_id=CONN_ID,
            role=PipelineRole(
                role_arn=identity["role_arn"],
                region=identity["region"],
                session_seconds=identity["session_seconds"],
            ),
            run=run,
            sts_client_factory=lambda region: boto3.client(
                "sts",
                region_name=region,
                endpoint_url=moto.url,
                aws_access_key_id="worker",
                aws_secret_access_key="worker",
            ),
        )
        session = role.get()

        # Login (AppRole standing in for AWS auth, with AWS auth's client_arn), then creds.
        policy = f"aai-runtime-it-{identity['pipeline']}"
        root.sys.create_or_update_policy(
            name=policy, policy=plan["outputs"]["vaultPolicies"][policy]
        )
        root.sys.enable_auth_method("approle")
        root.auth.approle.create_or_update_approle(
            role_name=settings["auth_role"], token_policies=[policy]
        )
        role_id = root.auth.approle.read_role_id(role_name=settings["auth_role"])["data"]["role_id"]
        secret_id = root.auth.approle.generate_secret_id(
            role_name=settings["auth_role"],
            metadata={"client_arn": session.assumed_role_arn},
        )["data"]["secret_id"]
        vault = DynamicDatabaseCredentials(
            conn_id=CONN_ID,
            settings=VaultSettings(
                url=openbao.url,
                auth_mount="approle",
                auth_role=settings["auth_role"],
                iam_server_id_header_value="-",
                db_mount=settings["db_mount"],
                db_role=settings["db_role"],
            ),
            login=AppRoleLogin(role_id=role_id, secret_id=secret_id),
        )
        user = vault.get()
        vault.revoke()
    finally:
        pg.stop()

    # The real log: the user in clear, its password not, the login's metadata.
    text = audit_log.read_text()
    assert user.password not in text
    entries = [json.loads(line) for line in text.splitlines()]
    (issued,) = [
        e
        for e in entries
        if e["type"] == "response"
        and e["request"]["path"] == f"{settings['db_mount']}/creds/{settings['db_role']}"
    ]
    assert issued["response"]["data"]["username"] == user.username
    assert issued["response"]["data"]["password"].startswith("hmac-sha256:")
    assert issued["response"]["secret"]["lease_id"] == user.lease_id

    # CloudTrail's record of the session, from the real request and response.
    record = assume_role_record(
        at=assumed_at,
        caller=assumed_role_identity(
            session_arn=plan["outputs"]["executionRoleArn"]
            .replace(":iam::", ":sts::")
            .replace(":role/", ":assumed-role/")
            + "/mwaa-worker",
            role_arn=plan["outputs"]["executionRoleArn"],
            access_key_id="ASIAWORKER",
            source_identity=None,
        ),
        role_arn=identity["role_arn"],
        session_name=role_session_name(run),
        source_identity=source_identity(run),
        tags={t["Key"]: t["Value"] for t in session_tags(run)},
        duration_seconds=role.duration_seconds,
        access_key_id=session.access_key_id,
    )
    assert record["responseElements"]["assumedRoleUser"]["arn"] == session.assumed_role_arn
    inputs = write_logs(tmp_path / "logs", plan, record, user.username, audit_log)

    result = run_command(inputs, tmp_path / "out", plan=PLAN, stack="runtime-it")
    assert (result.code, result.findings) == (0, []), result.stderr
    mine = [r for r in result.ledger if r["user"] == user.username]
    assert len(mine) == 2
    expected = {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "task_id": run.task_id,
        "session": session.assumed_role_arn,
    }
    for row in mine:
        assert (row["pipeline"], row["authMode"], row["db"]) == (
            "ledger-sync",
            "vault-dynamic",
            "admin",
        )
        assert row["runs"] == [expected]


def write_logs(
    root: Path, plan: dict[str, Any], record: dict[str, Any], username: str, vault_log: Path
) -> Inputs:
    """Atlas' messages of the issued user (no MongoDB here) and the trail with its digests."""
    row = next(r for r in plan["outputs"]["accessMatrix"] if r["pipeline"] == "ledger-sync")
    project = next(
        r["inputs"]["projectId"]
        for r in plan["resources"]
        if r["type"] == "mongodbatlas:index/customDbRole:CustomDbRole"
        and r["inputs"]["roleName"] == row["customRole"]
    )
    at = datetime.now(UTC)
    connection = "bGVkZ2VyLXN5bmMtY29ubjA="
    messages = [
        (
            at,
            authenticate(
                at=at, user=username, db="admin", mechanism="SCRAM-SHA-256", connection=connection
            ),
        ),
        (
            at + timedelta(seconds=1),
            auth_check(
                at=at + timedelta(seconds=1),
                user=username,
                db="admin",
                role=row["customRole"],
                command="find",
                ns=f"{row['database']}.{row['collection']}",
                connection=connection,
            ),
        ),
    ]
    atlas = root / "atlas"
    write_atlas_host(atlas / "audit" / project / row["cluster"] / "host-0", messages)
    assumed_at = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
    account = str(plan["outputs"]["executionRoleArn"]).split(":")[4]
    write_trail(root / "cloudtrail", [(assumed_at, record)], account=account)
    return Inputs(atlas=atlas, cloudtrail=root / "cloudtrail", vault=vault_log)
