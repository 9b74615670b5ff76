"""A real Airflow task run's identity, found again from the logs.

Airflow 3 runs the aws-iam example DAG (tests/runtime/integration: the program's connection in
moto's Secrets Manager, the worker as the execution role); the runtime assumes the pipeline
role in moto's STS with the run's session name, source identity and session tags. moto's
request recorder holds that AssumeRole call as the worker sent it (its X-Amz-Date is the call's
time); it becomes the CloudTrail record, in CloudTrail's documented shape. Atlas' messages of
the role (no MongoDB here) are written at the task's time; the command must name that DAG run,
task and session, which Airflow's own database and the task's result (XCom) state.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from bench.audit_samples import (
    Inputs,
    assume_role_record,
    assumed_role_identity,
    auth_check,
    authenticate,
    write_atlas_host,
    write_trail,
)
from tests.audit_trail.conftest import ROOT, run_command
from tests.runtime.integration.conftest import Airflow, AwsWorld

PLAN = ROOT / "tests" / "runtime" / "integration" / "stacks" / "runtime-it.plan.json"
DAG_ID, TASK_ID, PIPELINE = "atlas_aws_iam_example", "identity", "orders-ingest"


def recorded_assume_role(aws: AwsWorld) -> tuple[datetime, dict[str, list[str]]]:
    """(time, parameters) of the one AssumeRole request moto recorded."""
    calls = []
    for line in aws.moto.recording.read_text().splitlines():
        entry = json.loads(line)
        body = entry["body"] or ""
        if entry["body_encoded"]:
            body = base64.b64decode(body).decode()
        params = parse_qs(body)
        if params.get("Action") == ["AssumeRole"]:
            at = datetime.strptime(entry["headers"]["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
            calls.append((at.replace(tzinfo=UTC), params))
    assert len(calls) == 1, calls
    return calls[0]


def task_window(airflow: Airflow, run_id: str) -> tuple[datetime, datetime]:
    with sqlite3.connect(airflow.home / "airflow.db") as db:
        start, end = db.execute(
            "select start_date, end_date from task_instance "
            "where dag_id=? and run_id=? and task_id=?",
            (DAG_ID, run_id, TASK_ID),
        ).fetchone()
    return (
        datetime.fromisoformat(start).replace(tzinfo=UTC),
        datetime.fromisoformat(end).replace(tzinfo=UTC),
    )


def write_logs(root: Path, plan: dict[str, Any], record: dict[str, Any], at: datetime) -> Inputs:
    row = next(r for r in plan["outputs"]["accessMatrix"] if r["pipeline"] == PIPELINE)
    project = next(
        r["inputs"]["projectId"]
        for r in plan["resources"]
        if r["type"] == "mongodbatlas:index/customDbRole:CustomDbRole"
        and r["inputs"]["roleName"] == row["customRole"]
    )
    role = row["identity"].rsplit("/", 1)[1]
    account = row["identity"].split(":")[4]
    user = f"arn:aws:sts::{account}:assumed-role/{role}/*"  # as MONGODB-AWS audits a role
    connection = "YWlyZmxvdy10YXNrLWNvbm4="
    messages = [
        (
            at,
            authenticate(
                at=at, user=user, db="$external", mechanism="MONGODB-AWS", connection=connection
            ),
        ),
        (
            at + timedelta(milliseconds=300),
            auth_check(
                at=at + timedelta(milliseconds=300),
                user=user,
                db="$external",
                role=row["customRole"],
                command="find",
                ns=f"{row['database']}.{row['collection']}",
                connection=connection,
            ),
        ),
    ]
    write_atlas_host(root / "atlas" / "audit" / project / row["cluster"] / "host-0", messages)
    assumed_at = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
    write_trail(root / "cloudtrail", [(assumed_at, record)], account=account)
    vault = root / "vault-audit.log"
    vault.write_text("")
    return Inputs(atlas=root / "atlas", cloudtrail=root / "cloudtrail", vault=vault)


def test_the_ledger_names_the_airflow_run_that_made_the_access(
    airflow: Airflow, aws: AwsWorld, secrets_manager_env: dict[str, str], tmp_path: Path
) -> None:
    aws.moto.reset()
    run = airflow.dags_test(DAG_ID, env=secrets_manager_env, conf={"dry_run": True})
    assert (run.state, run.failed_tasks) == ("success", ()), run.output[-4000:]
    session_arn = run.xcom[TASK_ID]["identity"]  # the assumed-role ARN the task authenticated as

    at, params = recorded_assume_role(aws)
    tags = {
        params[f"Tags.member.{i}.Key"][0]: params[f"Tags.member.{i}.Value"][0] for i in range(1, 4)
    }
    execution = aws.plan["outputs"]["executionRoleArn"]
    record = assume_role_record(
        at=at,
        caller=assumed_role_identity(
            session_arn=execution.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
            + "/mwaa-worker",
            role_arn=execution,
            access_key_id=aws.worker_env["AWS_ACCESS_KEY_ID"],
            source_identity=None,
        ),
        role_arn=params["RoleArn"][0],
        session_name=params["RoleSessionName"][0],
        source_identity=params["SourceIdentity"][0],
        tags=tags,
        duration_seconds=int(params["DurationSeconds"][0]),
        access_key_id="ASIA" + "0" * 16,  # the response is not recorded; aws-iam does not use it
    )
    assert record["responseElements"]["assumedRoleUser"]["arn"] == session_arn
    start, end = task_window(airflow, run.run_id)
    assert start - timedelta(seconds=1) <= at <= end

    result = run_command(
        write_logs(tmp_path / "logs", aws.plan, record, end),
        tmp_path / "out",
        plan=PLAN,
        stack="runtime-it",
    )
    assert (result.code, result.findings) == (0, []), result.stderr + json.dumps(result.findings)
    assert len(result.ledger) == 2
    for row in result.ledger:
        assert (row["pipeline"], row["authMode"]) == (PIPELINE, "aws-iam")
        assert row["runs"] == [
            {"dag_id": DAG_ID, "run_id": run.run_id, "task_id": TASK_ID, "session": session_arn}
        ]
