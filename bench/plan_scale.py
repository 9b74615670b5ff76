"""Benchmark (not a test): offline planning of synthetic stacks of 10, 100 and 1000 pipelines.

    python -m bench.plan_scale                      # sizes 10,100,1000, best of 1 run each
    python -m bench.plan_scale --sizes 10,100 --repeat 3
    python bench/plan_scale.py --sizes 1000

For each size it reports, each measured in a fresh process (so peak RSS is per run):
- `plan s`: `infra.plan.plan()` of a synthetic stack file: settings, the real program (Wiring and
  components) under the mock engine, secret masking, sorting — what `python -m infra.plan` does;
- `bare s`: the same resources (same types, names and inputs, Outputs chained the same way)
  declared with bare SDK calls in one flat function, run by the same `infra.offline.run_program`
  under the same mocks and post-processed the same way;
- the ratio plan/bare, the per-pipeline cost, the resource count and peak RSS of both.
Auth modes are mixed round-robin over the modes the program supports (today only `aws-iam`;
okta-oidc and vault-dynamic join automatically when settings accept them, with the settings
they need). The bare baseline declares the aws-iam shape with typed SDK calls; whatever else the
program declares (other modes, Okta, Vault) is declared as raw `pulumi.CustomResource`s with the
program's inputs, so both sides register the same number of resources of every type.
Targets: 1000 pipelines in < 60 s, ratio <= 1.3, per-pipeline cost flat from 100 to 1000.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from queue import Empty
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi
import pulumi_aws as aws
import pulumi_mongodbatlas as atlas

from components.access import AuthMode, Naming, connection_id, privileges
from components.airflow_connections import SECRETS_MANAGER_BACKEND, backend_kwargs
from components.atlas_access import custom_role_actions
from components.atlas_audit import audit_filter, iam_role_pattern
from components.aws_identity import MWAA_SERVICE_PRINCIPALS, SESSION_TAG_KEYS
from components.contract import ConnectionSpec, connection_definition
from infra import plan as offline_plan
from infra import settings as stack_settings
from infra.offline import PlanMocks, Registration, mask_secrets, run_program, to_config_strings
from infra.perf import gc_paused

PROJECT = "airflow-atlas-identity"
ACCOUNT, REGION = "123456789012", "eu-west-1"


# Settings the okta-oidc and vault-dynamic modes need (as in the committed dev stack). Only keys
# the program declares (infra.settings.KEYS) are used, so the synthetic stack stays valid for the
# program as it is: without those modes, none of these is added.
MODE_SETTINGS: dict[str, dict[str, Any]] = {
    "okta-oidc": {
        "atlasOrgId": "5f0e1d2c3b4a596877665544",
        "atlasFederationSettingsId": "6a1b2c3d4e5f60718293a4b5",
        "atlasOrgConfigImported": True,
        "oktaKeyRotationHours": 24,
    },
    "vault-dynamic": {
        "vaultAddress": "https://vault.bench.internal:8200",
        "vaultAudit": {"type": "file", "options": {"file_path": "/vault/audit/audit.log"}},
        "atlasVaultApiKeyAccessList": ["10.20.0.0/24"],
    },
}
PROVIDER_SETTINGS: dict[str, dict[str, Any]] = {
    "okta-oidc": {"okta:orgName": "acme-bench", "okta:baseUrl": "oktapreview.com"},
}


def _modes() -> list[str]:
    return sorted(m.value for m in AuthMode)


def _modes_used(pipelines: int) -> list[str]:
    """Settings refuse keys of a mode no pipeline uses, so only those modes' settings are added."""
    modes = _modes()
    return modes[: min(pipelines, len(modes))]


def synthetic_values(pipelines: int) -> dict[str, Any]:
    """A valid stack (bare keys) with `pipelines` pipelines over 3 clusters, modes round-robin."""
    modes = _modes()
    clusters = [f"core-{c}" for c in range(3)]
    extra = {
        key: value
        for mode in _modes_used(pipelines)
        for key, value in MODE_SETTINGS.get(mode, {}).items()
        if key in stack_settings.KEYS
    }
    return {
        **extra,
        "tier": "staging",
        "awsAccountId": ACCOUNT,
        "awsRegion": REGION,
        "mwaaEnvironmentName": "bench",
        "mwaaSourceBucketArn": "arn:aws:s3:::bench-dags",
        "mwaaCreateEnvironment": True,
        "mwaaAirflowVersion": "3.0.6",
        "mwaaSubnetIds": ["subnet-0a", "subnet-0b"],
        "mwaaSecurityGroupIds": ["sg-0a"],
        "pipelineSessionSeconds": 900,
        "atlasProjectId": "0123456789abcdef01234567",
        "atlasClusters": [{"name": c, "srvHost": f"{c}.ab1cd.mongodb.net"} for c in clusters],
        "pipelines": [
            {
                "name": f"pipeline-{i:04d}",
                "authMode": modes[i % len(modes)],
                "cluster": clusters[i % len(clusters)],
                "grants": [
                    {
                        "database": f"db{i % 7}",
                        "collections": ["orders", "order_items"],
                        "access": "read-write",
                    },
                    {"database": "reference", "collections": ["currencies"], "access": "read"},
                ],
            }
            for i in range(pipelines)
        ],
    }


def stack_file(pipelines: int) -> offline_plan.StackFile:
    values = synthetic_values(pipelines)
    providers = {
        k: v for mode in _modes_used(pipelines) for k, v in PROVIDER_SETTINGS.get(mode, {}).items()
    }
    return offline_plan.StackFile(
        project=PROJECT,
        stack="bench",
        config={**providers, **{f"{PROJECT}:{k}": v for k, v in values.items()}},
    )


def _post_process(registrations: list[Registration]) -> int:
    """What infra.plan does after the run: mask every input, sort by URN."""
    resources = [mask_secrets(r.inputs) for r in sorted(registrations, key=lambda r: r.urn)]
    return len(resources)


def bare_program(pipelines: int, recorded: list[Registration]) -> Callable[[], None]:
    """The program's resources as flat SDK calls: no settings, Wiring or components.

    `recorded` is what the program declared for the same stack. The typed calls below cover the
    aws-iam shape; each type is declared at most as often as the program declared it, and what
    remains (other auth modes, Okta and Vault resources) is declared as raw CustomResources with
    the program's inputs, so both sides register the same number of resources of every type.
    """
    settings = stack_settings.parse(synthetic_values(pipelines), project=PROJECT, stack="bench")
    w = settings.wiring
    naming = Naming(prefix="aai", stack="bench")
    customs = [r for r in recorded if r.custom]

    def program() -> None:
        budget = Counter(r.type for r in customs)

        def take(type_: str) -> bool:
            if budget[type_] <= 0:
                return False
            budget[type_] -= 1
            return True

        provider = aws.Provider("aws", region=REGION, allowed_account_ids=[ACCOUNT])
        take("pulumi:providers:aws")
        opts = pulumi.ResourceOptions(provider=provider)
        env_arn = f"arn:aws:airflow:{REGION}:{ACCOUNT}:environment/{w.mwaa_environment_name}"
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": list(MWAA_SERVICE_PRINCIPALS)},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": ACCOUNT},
                        "ArnLike": {"aws:SourceArn": env_arn},
                    },
                }
            ],
        }
        take("aws:iam/role:Role")
        execution = aws.iam.Role(
            "execution-role",
            name=naming.execution_role(),
            assume_role_policy=pulumi.Output.json_dumps(trust),
            max_session_duration=3600,
            opts=opts,
        )
        role_arns: list[pulumi.Output[str]] = []
        users: list[pulumi.Output[str]] = []
        for p in w.pipelines:
            if not take("aws:iam/role:Role"):
                continue
            role = aws.iam.Role(
                f"{p.name}-role",
                name=naming.pipeline_role(p.name),
                path="/",
                assume_role_policy=pulumi.Output.json_dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": execution.arn},
                                "Action": "sts:AssumeRole",
                            },
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": execution.arn},
                                "Action": "sts:TagSession",
                                "Condition": {
                                    "ForAllValues:StringEquals": {
                                        "aws:TagKeys": list(SESSION_TAG_KEYS)
                                    }
                                },
                            },
                        ],
                    }
                ),
                max_session_duration=w.pipeline_session_seconds,
                tags={"stack": "bench", "pipeline": p.name},
                opts=opts,
            )
            role_arns.append(role.arn)
            if not take("mongodbatlas:index/customDbRole:CustomDbRole"):
                continue
            custom = atlas.CustomDbRole(
                f"{p.name}-custom-role",
                project_id=w.atlas_project_id,
                role_name=naming.atlas_role(p.name),
                actions=custom_role_actions(privileges(p)),
            )
            if not take("mongodbatlas:index/databaseUser:DatabaseUser"):
                continue
            user = atlas.DatabaseUser(
                f"{p.name}-iam-user",
                project_id=w.atlas_project_id,
                username=role.arn,
                auth_database_name="$external",
                aws_iam_type="ROLE",
                roles=[
                    atlas.DatabaseUserRoleArgs(role_name=custom.role_name, database_name="admin")
                ],
                scopes=[atlas.DatabaseUserScopeArgs(name=p.cluster, type="CLUSTER")],
                labels=[atlas.DatabaseUserLabelArgs(key="pipeline", value=p.name)],
            )
            users.append(user.username)
            definition = connection_definition(
                ConnectionSpec(
                    connection_id=p.connection_id,
                    pipeline=p.name,
                    auth_mode=p.auth_mode,
                    host=w.cluster_hosts[p.cluster],
                    schema=p.default_database,
                    runtime={"role_arn": role.arn, "region": REGION},
                )
            )
            if not take("aws:secretsmanager/secret:Secret"):
                continue
            secret = aws.secretsmanager.Secret(
                f"{p.name}-connection",
                name=f"{w.connections_prefix}/{p.connection_id}",
                recovery_window_in_days=7,
                opts=opts,
            )
            if not take("aws:secretsmanager/secretVersion:SecretVersion"):
                continue
            aws.secretsmanager.SecretVersion(
                f"{p.name}-connection-version",
                secret_id=secret.id,
                secret_string=pulumi.Output.json_dumps(definition),
                opts=opts,
            )
        take("aws:iam/rolePolicy:RolePolicy")
        aws.iam.RolePolicy(
            "execution-policy",
            role=execution.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arns}
                    ],
                }
            ),
            opts=opts,
        )
        take("mongodbatlas:index/auditing:Auditing")
        atlas.Auditing(
            "auditing",
            project_id=w.atlas_project_id,
            enabled=True,
            audit_filter=audit_filter(
                iam_role_arns=iam_role_pattern(w.aws_account_id, w.naming.pipeline_role_prefix()),
                workload_idp_id=None,
                vault_users=bool(w.pipelines_of(AuthMode.VAULT_DYNAMIC)),
            ),
        )
        if w.mwaa is not None and take("aws:mwaa/environment:Environment"):
            kwargs = backend_kwargs(
                connections_prefix=w.connections_prefix,
                connection_ids=[connection_id(p.name) for p in w.pipelines],
                region=REGION,
                variables_prefix=None,
                config_prefix=None,
            )
            aws.mwaa.Environment(
                "environment",
                name=w.mwaa_environment_name,
                airflow_version=w.mwaa.airflow_version,
                environment_class=w.mwaa.environment_class,
                execution_role_arn=execution.arn,
                source_bucket_arn=w.mwaa_source_bucket_arn,
                dag_s3_path=w.mwaa.dag_s3_path,
                network_configuration=aws.mwaa.EnvironmentNetworkConfigurationArgs(
                    subnet_ids=list(w.mwaa.subnet_ids),
                    security_group_ids=list(w.mwaa.security_group_ids),
                ),
                airflow_configuration_options={
                    "secrets.backend": SECRETS_MANAGER_BACKEND,
                    "secrets.backend_kwargs": json.dumps(kwargs, sort_keys=True),
                },
                opts=opts,
            )
        # What the typed calls above do not cover: the program's own type, name and inputs.
        remaining = dict(budget)
        for r in reversed(customs):
            if remaining.get(r.type, 0) > 0:
                remaining[r.type] -= 1
                pulumi.CustomResource(r.type, f"bare-{r.name}", dict(r.inputs))

    return program


@dataclass(frozen=True, kw_only=True)
class Sample:
    seconds: float
    resources: int
    peak_rss_mb: float


def _measure(kind: str, pipelines: int) -> Sample:
    start = time.perf_counter()
    if kind == "plan":
        result = offline_plan.plan(stack_file(pipelines))
        count = sum(1 for r in result["resources"] if r["custom"])
    else:
        recorded = program_registrations(pipelines)
        start = time.perf_counter()  # the recording is input data, not part of the baseline
        with gc_paused():  # exactly as infra.plan.plan() runs the program
            run = run_program(
                project=PROJECT,
                stack="bench",
                config=to_config_strings(PROJECT, {}),
                mocks=PlanMocks(account_id=ACCOUNT, region=REGION),
                program=bare_program(pipelines, recorded),
            )
        _post_process(run.monitor.registrations)
        count = sum(1 for r in run.monitor.registrations if r.custom)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Sample(seconds=seconds, resources=count, peak_rss_mb=peak)


def program_registrations(pipelines: int) -> list[Registration]:
    """What the program declares for the synthetic stack (input of the bare baseline)."""
    run = run_program(
        project=PROJECT,
        stack="bench",
        config=to_config_strings(PROJECT, synthetic_values(pipelines)),
        mocks=PlanMocks(account_id=ACCOUNT, region=REGION),
    )
    return list(run.monitor.registrations)


def _child(kind: str, pipelines: int, queue: Any) -> None:
    _measure(kind, 2)  # warm imports and SDK caches; not measured
    queue.put(asdict(_measure(kind, pipelines)))


def measure(kind: str, pipelines: int, *, fork: bool) -> Sample:
    if not fork:
        return _measure(kind, pipelines)
    # A fresh interpreter per sample: peak RSS is that run's own. (`fork` after the SDK has run
    # deadlocks: the parent's threads hold locks the child inherits.)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(kind, pipelines, queue))
    process.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"the {kind} run of {pipelines} pipelines failed (exit code "
                    f"{process.exitcode}); its traceback is above"
                ) from None
    process.join()
    return Sample(**result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plan_scale", description=__doc__)
    parser.add_argument(
        "--sizes", default="10,100,1000", help="pipeline counts (default %(default)s)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; best is kept")
    parser.add_argument(
        "--no-fork", action="store_true", help="measure in this process (RSS is then cumulative)"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.no_fork:
        measure("plan", 2, fork=False)  # warm imports and SDK caches; not measured
        measure("bare", 2, fork=False)
    modes = ", ".join(sorted(m.value for m in AuthMode))
    print(f"auth modes (round-robin): {modes}")
    header = (
        f"{'pipelines':>9} {'resources':>9} {'plan s':>8} {'bare s':>8} {'ratio':>6} "
        f"{'plan ms/pipe':>12} {'bare ms/pipe':>12} {'plan RSS MB':>11} {'bare RSS MB':>11}"
    )
    print(header)
    results: dict[int, tuple[Sample, Sample]] = {}
    for size in sizes:
        plans = [measure("plan", size, fork=not args.no_fork) for _ in range(args.repeat)]
        bares = [measure("bare", size, fork=not args.no_fork) for _ in range(args.repeat)]
        plan = min(plans, key=lambda s: s.seconds)
        bare = min(bares, key=lambda s: s.seconds)
        results[size] = (plan, bare)
        print(
            f"{size:>9} {plan.resources:>9} {plan.seconds:>8.2f} {bare.seconds:>8.2f} "
            f"{plan.seconds / bare.seconds:>6.2f} {1000 * plan.seconds / size:>12.2f} "
            f"{1000 * bare.seconds / size:>12.2f} "
            f"{plan.peak_rss_mb:>11.0f} {bare.peak_rss_mb:>11.0f}"
        )
        if plan.resources != bare.resources:
            print(f"  note: bare declared {bare.resources} resources, the program {plan.resources}")
    if 100 in results and 1000 in results:
        per_100 = results[100][0].seconds / 100
        per_1000 = results[1000][0].seconds / 1000
        print(f"per-pipeline cost 1000 vs 100: x{per_1000 / per_100:.2f} (flat = 1.00)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
