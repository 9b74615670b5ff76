"""aws-iam against real Airflow 3 (`dags test`) and moto: lookup, identity, expiry, failure."""

from __future__ import annotations

from atlas_identity.aws import RunContext, role_session_name
from tests.runtime.integration.conftest import Airflow, AwsWorld


def test_example_dag_builds_a_client_as_the_pipeline_role(
    airflow: Airflow, aws: AwsWorld, secrets_manager_env: dict[str, str]
) -> None:
    aws.moto.reset()
    run = airflow.dags_test(
        "atlas_aws_iam_example", env=secrets_manager_env, conf={"dry_run": True}
    )
    assert (run.state, run.failed_tasks) == ("success", ()), run.output[-4000:]
    session = role_session_name(
        RunContext(dag_id="atlas_aws_iam_example", task_id="identity", run_id=run.run_id)
    )
    assert run.xcom["identity"] == {
        "conn_id": "mongo_orders_ingest",
        "auth_mode": "aws-iam",
        "mechanism": "MONGODB-AWS",
        "source": "$external",
        "identity": f"arn:aws:sts::123456789012:assumed-role/"
        f"{aws.role_name('orders-ingest')}/{session}",
    }
    assert set(run.xcom) == {"identity"}  # the dry run returns None from the Atlas task
    # Exactly one read of exactly this connection, and one AssumeRole.
    assert aws.moto.secret_reads() == ["airflow/runtime-it/connections/mongo_orders_ingest"]
    assert sorted(aws.moto.calls()) == [
        ("query", "AssumeRole"),
        ("secretsmanager", "GetSecretValue"),
    ]


def test_non_matching_ids_and_variables_cost_zero_backend_calls(
    airflow: Airflow, aws: AwsWorld, secrets_manager_env: dict[str, str]
) -> None:
    aws.moto.reset()
    env = {
        **secrets_manager_env,
        "AIRFLOW_CONN_POSTGRES_REPORTING": "postgres://reporting-db.internal:5432/reports",
        "AIRFLOW_VAR_REPORT_WINDOW": "7d",
    }
    run = airflow.dags_test("it_lookup_patterns", env=env)
    assert (run.state, run.failed_tasks) == ("success", ()), run.output[-4000:]
    assert run.xcom["lookups"] == {
        "postgres_reporting": "reporting-db.internal",
        "mongo_not_in_this_stack": "AirflowNotFoundException",
        "report_window": "7d",
    }
    assert aws.moto.calls() == []


def test_a_task_outliving_its_sts_session_gets_fresh_credentials(
    airflow: Airflow, aws: AwsWorld, secrets_manager_env: dict[str, str]
) -> None:
    run = airflow.dags_test(
        "it_aws_iam_expiry",
        env=secrets_manager_env,
        conf={"conn_id": "mongo_orders_ingest", "session_seconds": 6, "run_seconds": 14},
        use_executor=True,
    )
    assert (run.state, run.failed_tasks) == ("success", ()), run.output[-4000:]
    result = run.xcom["long_task"]
    session = role_session_name(
        RunContext(dag_id="it_aws_iam_expiry", task_id="long_task", run_id=run.run_id)
    )
    # 14 s with 6 s sessions refreshed 1.2 s before expiry: at least 3 sessions.
    assert result["sessions"] >= 3
    assert result["assume_role_calls"] == result["sessions"]
    assert result["expired_uses"] == 0
    assert result["identities"] == [
        f"arn:aws:sts::123456789012:assumed-role/{aws.role_name('orders-ingest')}/{session}"
    ]
    # The task logged its secrets on purpose: every occurrence in the task log is masked.
    # (The LocalExecutor's supervisor also echoes task logs to its own stdout, unmasked on
    # Airflow 3.3.2; that echo is Airflow's, not part of the task log.)
    log = run.task_log
    assert log.count("secret access key in use: ***") == result["sessions"]
    assert log.count("session token in use: ***") == result["sessions"]
    assert log.count("in use: ") == 2 * result["sessions"]


def test_unreachable_secrets_backend_fails_fast_and_clearly(
    airflow: Airflow, aws: AwsWorld, secrets_manager_env: dict[str, str]
) -> None:
    env = {**secrets_manager_env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    run = airflow.dags_test(
        "atlas_aws_iam_example", env=env, conf={"dry_run": True}, use_executor=True
    )
    assert run.failed_tasks == ("identity",), run.output[-4000:]
    assert (
        "connection 'mongo_orders_ingest': connection lookup failed: no secrets backend "
        "returned it" in run.task_log
    )
    assert run.seconds < 60
    for text in (run.task_log, run.output):
        assert secrets_manager_env["AWS_SECRET_ACCESS_KEY"] not in text
        assert secrets_manager_env["AWS_SESSION_TOKEN"] not in text
