"""Secrets-backend calls and lookup latency: MWAA's documented settings vs the program's.

    python -m bench.secrets_lookups [--dags 50] [--samples 200]

Starts moto on 127.0.0.1, writes a DAG folder of N DAGs that read Variables at parse time (the
common pattern MWAA's best practices warn about) and whose task reads a Mongo connection, two
non-Mongo connections and a Variable. Both settings are applied to the same folder in one run:

- (a) MWAA documentation: `SecretsManagerBackend` with `connections_prefix` and
  `variables_prefix` only (every connection and Variable lookup reaches Secrets Manager);
- (b) what the program emits (`airflowConfigurationOptions` of the test stack's offline plan):
  a lookup pattern of exactly the stack's `mongo_*` ids, Variables and config not in the backend.

Calls are counted server-side from moto's request log. Not a test: it prints a table and ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3

from devtools.services.local import Moto, start_moto

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "tests" / "runtime" / "integration" / "stacks" / "Pulumi.runtime-it.yaml"
BACKEND = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
MWAA_DOC_KWARGS = {
    "connections_prefix": "airflow/connections",
    "variables_prefix": "airflow/variables",
}
MONGO_ID = "mongo_orders_ingest"
REGION = "eu-west-1"

DAG_TEMPLATE = """
from airflow.sdk import BaseHook, Variable, dag, task

# Read at parse time, as many real DAG files do.
THRESHOLD = Variable.get("bench_threshold_{i:02d}", default="10")


@dag(dag_id="bench_dag_{i:02d}", schedule=None, catchup=False, tags=["bench"])
def bench_dag():
    @task
    def work():
        BaseHook.get_connection("{mongo}")
        BaseHook.get_connection("postgres_reporting")
        BaseHook.get_connection("http_partner_api")
        return Variable.get("bench_batch_size", default="100")

    work()


bench_dag()
"""

PARSE = """
from airflow.dag_processing.dagbag import DagBag
bag = DagBag()
assert not bag.import_errors, bag.import_errors
print(len(bag.dags))
"""

TASK_LOOKUPS = """
from airflow.sdk import BaseHook, Variable
# Exactly what each benchmark DAG's task looks up.
BaseHook.get_connection("mongo_orders_ingest")
BaseHook.get_connection("postgres_reporting")
BaseHook.get_connection("http_partner_api")
Variable.get("bench_batch_size", default="100")
"""

LATENCY = """
import json, statistics, sys, time
from airflow.providers.amazon.aws.secrets.secrets_manager import SecretsManagerBackend
kwargs, samples = json.loads(sys.argv[1]), int(sys.argv[2])
backend = SecretsManagerBackend(**kwargs)
result = {}
for conn_id in ("mongo_orders_ingest", "postgres_reporting"):
    timings = []
    for _ in range(samples):
        start = time.perf_counter()
        backend.get_conn_value(conn_id)
        timings.append((time.perf_counter() - start) * 1000)
    result[conn_id] = statistics.median(timings)
print(json.dumps(result))
"""


def program_options() -> dict[str, str]:
    from devtools.plan import plan, read_stack_file

    return dict(
        plan(read_stack_file(STACK, stack="runtime-it"))["outputs"]["airflowConfigurationOptions"]
    )


def seed(moto: Moto, program_prefix: str) -> None:
    sm = boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=moto.url,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - moto accepts any key
    )
    definition = json.dumps({"conn_type": "mongo", "host": "core.example.mongodb.net"})
    for prefix in (MWAA_DOC_KWARGS["connections_prefix"], program_prefix):
        sm.create_secret(Name=f"{prefix}/{MONGO_ID}", SecretString=definition)


def write_dags(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"bench_dag_{i:02d}.py").write_text(
            textwrap.dedent(DAG_TEMPLATE).format(i=i, mongo=MONGO_ID)
        )


def run(argv: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(  # noqa: S603 - the venv's own executables
        argv, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[:4])} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result.stdout


def measure(
    name: str, kwargs: dict[str, Any], *, moto: Moto, home: Path, samples: int
) -> dict[str, float]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__SECRETS__BACKEND": BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({**kwargs, "region_name": REGION}),
        "AIRFLOW_CONN_POSTGRES_REPORTING": "postgres://reporting.internal:5432/reports",
        "AIRFLOW_CONN_HTTP_PARTNER_API": "http://partner.example.com",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": moto.url,
        "PYTHONPATH": str(ROOT),
    }
    python, airflow = sys.executable, str(Path(sys.executable).parent / "airflow")
    moto.reset()
    run(
        [python, "-c", PARSE],
        env,
    )
    parse_calls = len(moto.calls())
    moto.reset()
    run([python, "-c", TASK_LOOKUPS], env)
    task_calls = len(moto.calls())
    moto.reset()
    run([airflow, "dags", "test", "bench_dag_00"], env)
    dags_test_calls = len(moto.calls())
    latency = json.loads(
        run(
            [python, "-c", LATENCY, json.dumps({**kwargs, "region_name": REGION}), str(samples)],
            env,
        )
        .strip()
        .splitlines()[-1]  # the JSON result is the last line (logs go to stdout too)
    )
    print(f"measured {name}", file=sys.stderr)
    return {
        "parse": parse_calls,
        "task": task_calls,
        "dags_test": dags_test_calls,
        "mongo_ms": latency[MONGO_ID],
        "other_ms": latency["postgres_reporting"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="secrets-backend lookups benchmark")
    parser.add_argument("--dags", type=int, default=50)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    options = program_options()
    program_kwargs = {
        k: v for k, v in json.loads(options["secrets.backend_kwargs"]).items() if k != "region_name"
    }
    work = Path(tempfile.mkdtemp(prefix="bench-secrets-"))
    moto = start_moto(work)
    try:
        seed(moto, program_kwargs["connections_prefix"])
        home = work / "airflow"
        write_dags(home / "dags", args.dags)
        base = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], base)
        a = measure("(a)", MWAA_DOC_KWARGS, moto=moto, home=home, samples=args.samples)
        b = measure("(b)", program_kwargs, moto=moto, home=home, samples=args.samples)
    finally:
        moto.process.stop()
        shutil.rmtree(work, ignore_errors=True)

    def ratio(x: float, y: float) -> str:
        return "inf (b = 0)" if y == 0 else f"{x / y:.1f}x"

    rows = [
        (f"backend calls per parse loop ({args.dags} DAGs)", a["parse"], b["parse"]),
        ("backend calls per task (1 Mongo + 2 other conns + 1 Variable)", a["task"], b["task"]),
        (
            "backend calls, `airflow dags test` of one DAG (parse + task)",
            a["dags_test"],
            b["dags_test"],
        ),
    ]
    print(f"\n{'':62} {'(a) MWAA docs':>14} {'(b) program':>12} {'a/b':>12}")
    for label, x, y in rows:
        print(f"{label:62} {x:>14} {y:>12} {ratio(x, y):>12}")
    mongo_label = "median lookup latency, mongo_* id (ms)"
    print(f"{mongo_label:62} {a['mongo_ms']:>14.2f} {b['mongo_ms']:>12.2f}")
    print(
        f"{'median lookup latency, non-matching id (ms)':62} "
        f"{a['other_ms']:>14.2f} {b['other_ms']:>12.3f}"
    )
    total_a, total_b = a["parse"] + a["task"], b["parse"] + b["task"]
    # (b)'s one call per task is the pipeline's own connection; every other lookup costs none.
    print(f"\nratio (a)/(b), one parse loop + one task: {ratio(total_a, total_b)}")
    ok = b["parse"] == 0 and total_b * 10 <= total_a
    print(
        "target (zero calls for non-matching ids, >= 10x fewer calls): "
        + ("met" if ok else "NOT met")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
