"""Session-wide real services: moto, OpenBao, PostgreSQL, and one Airflow home (SQLite).

A service that cannot start fails the session's tests with its log (pytest.fail), never skips.
The program's offline plan of `stacks/Pulumi.runtime-it.yaml` (committed next to it as
`runtime-it.plan.json`, see tests/plans.py) is the source of every AWS
setting: its roles go into moto IAM, its connection definitions into moto Secrets Manager, and
its `airflowConfigurationOptions` into the Airflow environment, verbatim.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devtools.services.local import (
    VENV_BIN,
    Moto,
    Postgres,
    ServiceError,
    free_port,
    start,
    start_moto,
    start_postgres,
    wait_until,
)
from devtools.services.openbao import OpenBaoServer, running_openbao
from tests.paths import ROOT
from tests.plans import runtime_it_plan

RUNTIME_SRC = ROOT / "runtime" / "src"
EXAMPLE_DAGS = ROOT / "runtime" / "examples" / "dags"
TEST_DAGS = Path(__file__).parent / "dags"
REGION = "eu-west-1"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def plan() -> dict[str, Any]:
    """The program's offline plan of the test stack, as committed (tests/plans.py: no Pulumi)."""
    return runtime_it_plan()


@pytest.fixture(scope="session")
def moto(workdir: Path) -> Iterator[Moto]:
    try:
        server = start_moto(workdir)
    except ServiceError as e:
        pytest.fail(f"moto could not start: {e}")
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBaoServer]:
    with running_openbao() as server:
        yield server


@pytest.fixture(scope="session")
def postgres(workdir: Path) -> Iterator[Postgres]:
    try:
        server = start_postgres(workdir)
    except ServiceError as e:
        pytest.fail(f"PostgreSQL could not start: {e}")
    yield server
    server.stop()


def moto_client(moto: Moto, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=moto.url,
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )


def backend_kwargs(plan: Mapping[str, Any]) -> dict[str, Any]:
    options = plan["outputs"]["airflowConfigurationOptions"]
    return dict(json.loads(options["secrets.backend_kwargs"]))


@dataclass(frozen=True)
class AwsWorld:
    """The planned AWS side, applied to moto, and the worker's (execution role) credentials."""

    moto: Moto
    plan: dict[str, Any]
    worker_env: dict[str, str]

    def role_name(self, pipeline: str) -> str:
        return str(self.plan["outputs"]["pipelineRoleArns"][pipeline]).rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def aws(moto: Moto, plan: dict[str, Any]) -> AwsWorld:
    iam, secrets, sts = (moto_client(moto, s) for s in ("iam", "secretsmanager", "sts"))
    for resource in plan["resources"]:
        if resource["type"] == "aws:iam/role:Role":
            inputs = resource["inputs"]
            iam.create_role(
                RoleName=inputs["name"],
                AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
                MaxSessionDuration=int(inputs["maxSessionDuration"]),
            )
    prefix = backend_kwargs(plan)["connections_prefix"]
    for conn_id, definition in plan["outputs"]["connectionDefinitions"].items():
        secrets.create_secret(Name=f"{prefix}/{conn_id}", SecretString=json.dumps(definition))
    # The worker runs as the MWAA execution role: take a session of it from moto.
    worker = sts.assume_role(
        RoleArn=plan["outputs"]["executionRoleArn"], RoleSessionName="mwaa-worker"
    )["Credentials"]
    return AwsWorld(
        moto=moto,
        plan=plan,
        worker_env={
            "AWS_ACCESS_KEY_ID": worker["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": worker["SecretAccessKey"],
            "AWS_SESSION_TOKEN": worker["SessionToken"],
            "AWS_DEFAULT_REGION": REGION,
            # Every boto3 client of the worker (the stock secrets backend included) goes to moto.
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_MAX_ATTEMPTS": "2",
        },
    )


@dataclass
class DagRun:
    dag_id: str
    run_id: str
    state: str
    """The DAG run's state in Airflow's database ("success", "failed"); not the CLI's exit
    code, which `airflow dags test` leaves at 0 when a task fails on Airflow 3.0."""
    task_states: dict[str, str]
    failed_tasks: tuple[str, ...]
    """Tasks whose log holds the task runner's "Task failed with exception" record. The task
    state alone is not enough: on Airflow 3.0.6 the scheduler of `dags test --use-executor` does
    not find the (unserialized) DAG when a task fails and marks the task instance successful."""
    output: str
    task_log: str
    """Every task log file of the run: what Airflow stores and shows (CloudWatch on MWAA)."""
    xcom: dict[str, Any]
    seconds: float


class Airflow:
    """One AIRFLOW_HOME with a migrated SQLite database and a running API server.

    DAGs run with `airflow dags test --use-executor` and the LocalExecutor: each task runs the
    way it does on an MWAA worker, in a subprocess of the task supervisor, which talks to the
    Execution API and writes the (masked) task log.
    """

    def __init__(self, home: Path, api_port: int) -> None:
        self.home = home
        self.dags = home / "dags"
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.api_port = api_port

    def base_env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
        return {
            **keep,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__API_AUTH__JWT_SECRET": "integration-test-jwt-secret-0123456789",
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "PYTHONPATH": os.pathsep.join([str(RUNTIME_SRC), str(ROOT)]),
        }

    def run(
        self,
        argv: list[str],
        env: Mapping[str, str],
        timeout: float,
        *,
        finished: Callable[[], str | None] | None = None,
    ) -> tuple[int, str]:
        """Run the airflow CLI in its own process group and return (exit code, output).

        `finished` returns the DAG run's final state once it has one. `dags test
        --use-executor` sometimes never returns after the run finished: LocalExecutor's
        shutdown waits forever for its idle workers (seen about once in five runs on 2 cores,
        Airflow 3.3.2). Once the run is final and the CLI has had 15 s to exit, the process
        group is killed and the exit code follows the run's state (0 success, 1 otherwise).
        """
        with tempfile.TemporaryFile("w+") as out:
            process = subprocess.Popen(
                [str(VENV_BIN / "airflow"), *argv],
                env={**self.base_env(), **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=self.home,
                start_new_session=True,
            )
            deadline = time.monotonic() + timeout
            final_since: float | None = None
            code: int | None = None
            try:
                while (code := process.poll()) is None and time.monotonic() < deadline:
                    time.sleep(0.5)
                    state = finished() if finished is not None else None
                    if state is not None:
                        final_since = final_since or time.monotonic()
                        if time.monotonic() - final_since > 15:
                            code = 0 if state == "success" else 1
                            break
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # the CLI and executor workers
                process.wait()
            out.seek(0)
            output = out.read()
        if code is None:
            pytest.fail(
                f"airflow {' '.join(argv)} did not finish in {timeout:.0f}s:\n{output[-3000:]}"
            )
        return code, output

    def dags_test(
        self,
        dag_id: str,
        *,
        env: Mapping[str, str],
        conf: Mapping[str, Any] | None = None,
        use_executor: bool = False,
        timeout: float = 90,
    ) -> DagRun:
        """Run a DAG. `use_executor` runs each task as a worker does (supervisor + subprocess,
        masked task log files); without it tasks run in the CLI process (faster)."""
        before = set(self._run_ids(dag_id))
        started = time.monotonic()
        argv = ["dags", "test", dag_id, *(["--use-executor"] if use_executor else [])]
        if conf is not None:
            argv += ["-c", json.dumps(conf)]

        def finished() -> str | None:
            new = [r for r in self._runs(dag_id) if r[0] not in before]
            return new[-1][1] if new and new[-1][1] in ("success", "failed") else None

        _, output = self.run(argv, env, timeout, finished=finished if use_executor else None)
        seconds = time.monotonic() - started
        new = [r for r in self._runs(dag_id) if r[0] not in before]
        run_id, state = new[-1] if new else ("", "no run")
        task_logs = {
            p: p.read_text(errors="replace")
            for p in sorted((self.home / "logs").rglob("*.log"))
            if run_id and run_id.replace(":", "") in str(p).replace(":", "")
        }
        failed = sorted(
            {
                part.removeprefix("task_id=")
                for path, text in task_logs.items()
                if '"Task failed with exception"' in text
                for part in path.parts
                if part.startswith("task_id=")
            }
        )
        return DagRun(
            dag_id=dag_id,
            run_id=run_id,
            state=state,
            task_states=self._task_states(dag_id, run_id),
            failed_tasks=tuple(failed),
            output=output,
            task_log="".join(task_logs.values()),
            xcom=self._xcom(dag_id, run_id),
            seconds=seconds,
        )

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.home / "airflow.db")

    def _runs(self, dag_id: str) -> list[tuple[str, str]]:
        with self._db() as db:
            rows = db.execute(
                "select run_id, state from dag_run where dag_id=? order by id", (dag_id,)
            )
            return [(r[0], r[1]) for r in rows]

    def _run_ids(self, dag_id: str) -> list[str]:
        return [run_id for run_id, _ in self._runs(dag_id)]

    def _task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        with self._db() as db:
            rows = db.execute(
                "select task_id, state from task_instance where dag_id=? and run_id=?",
                (dag_id, run_id),
            )
            return {task_id: str(state) for task_id, state in rows}

    def _xcom(self, dag_id: str, run_id: str) -> dict[str, Any]:
        with self._db() as db:
            rows = db.execute(
                "select task_id, value from xcom where dag_id=? and run_id=? and key=?",
                (dag_id, run_id, "return_value"),
            )
            return {task_id: json.loads(value) for task_id, value in rows}


@pytest.fixture(scope="session")
def airflow(workdir: Path) -> Iterator[Airflow]:
    home = workdir / "airflow"
    home.mkdir()
    af = Airflow(home, free_port())
    af.dags.mkdir()
    for source in [*EXAMPLE_DAGS.glob("*.py"), *TEST_DAGS.glob("*.py")]:
        shutil.copy(source, af.dags / source.name)
    code, output = af.run(["db", "migrate"], {}, timeout=180)
    if code != 0:
        pytest.fail(f"Airflow could not migrate its SQLite database:\n{output[-3000:]}")
    api = start(
        "airflow api-server",
        [
            str(VENV_BIN / "airflow"),
            "api-server",
            "--host",
            "127.0.0.1",
            "--port",
            str(af.api_port),
            # One worker: on Airflow 3.0.6 uvicorn's multi-worker children die silently at start
            # under this test's environment; one is enough for one DAG run at a time.
            "--workers",
            "1",
        ],
        log=workdir / "airflow-api-server.log",
        env=af.base_env(),
        clean=True,
    )
    try:
        wait_until(
            lambda: requests.get(f"{af.api_url}/api/v2/monitor/health", timeout=1).ok,
            what="Airflow API server",
            timeout=90,
            log=api.log,
        )
    except ServiceError as e:
        api.stop()
        pytest.fail(f"Airflow API server could not start: {e}")
    yield af
    api.stop()


@pytest.fixture(scope="session")
def secrets_manager_env(aws: AwsWorld) -> dict[str, str]:
    """The Airflow options the program emits, applied verbatim, plus the worker's AWS env."""
    options = aws.plan["outputs"]["airflowConfigurationOptions"]
    return {
        **aws.worker_env,
        "AIRFLOW__SECRETS__BACKEND": options["secrets.backend"],
        "AIRFLOW__SECRETS__BACKEND_KWARGS": options["secrets.backend_kwargs"],
    }


def python_exe() -> str:
    return sys.executable
