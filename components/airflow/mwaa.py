"""MWAA: the environment the program creates, and the package (runtime + providers) it installs.

The package is built by the same code as `scripts/mwaa-package` (runtime/tools/mwaa_package.py):
`plugins.zip` (the runtime's wheel, MWAA's constraints) and `requirements.txt` for the stack's
Airflow version and the providers its settings need. The program uploads both to the DAG bucket
and pins the environment to the uploaded object versions, so a changed package updates the
environment. MWAA requires a versioned bucket: "The Amazon S3 bucket used to store your DAGs,
custom plugins in plugins.zip, and Python dependencies in requirements.txt must be configured
with Public Access Blocked and Versioning Enabled" (Amazon MWAA User Guide, "Installing custom
plugins", Prerequisites), and "If [PluginsS3Path is] specified, then the plugins.zip version is
required" (MWAA API reference, CreateEnvironment); the same holds for requirements.txt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from model.access import AuthMode
from model.specs import WiringArgs
from runtime.tools import mwaa_package

# Keys of the package in the DAG bucket: fixed, so that the deploy role may write exactly these
# two objects (bootstrap/permissions.py) and a stack never overwrites a user's own plugins.zip.
PLUGINS_KEY = "atlas-identity/plugins.zip"
REQUIREMENTS_KEY = "atlas-identity/requirements.txt"
ROOT = Path(__file__).resolve().parents[2]
# Relative to the project (the program's working directory): the plan shows the same path on
# every machine.
PACKAGE_DIR = Path("build") / "mwaa-package"


@dataclass(frozen=True, kw_only=True)
class PackageSpec:
    """What goes into the package: MWAA's Airflow version and the providers the stack needs."""

    airflow_version: str
    providers: tuple[str, ...]

    @classmethod
    def for_stack(
        cls, airflow_version: str, *, vault_backend: bool, vault_dynamic: bool
    ) -> PackageSpec:
        """The providers a stack's settings need (mwaa_package.stack_providers), sorted."""
        providers = mwaa_package.stack_providers(
            vault_backend=vault_backend, vault_dynamic=vault_dynamic
        )
        return cls(airflow_version=airflow_version, providers=tuple(sorted(providers)))

    def build_command(self) -> str:
        """The command that builds the same two files by hand."""
        extra = [f"--provider {p}" for p in self.providers if p != "mongo"]
        return " ".join(["scripts/mwaa-package", "--airflow-version", self.airflow_version, *extra])


def package_summary(spec: PackageSpec, package: mwaa_package.MwaaPackage) -> dict[str, Any]:
    """What to upload and which paths/versions to set when the environment is not ours."""
    return {
        "airflowVersion": spec.airflow_version,
        "providers": list(spec.providers),
        "pluginsS3Path": PLUGINS_KEY,
        "requirementsS3Path": REQUIREMENTS_KEY,
        "pluginsSha256": package.plugins_sha256,
        "requirementsSha256": package.requirements_sha256,
        "command": spec.build_command(),
    }


def build(spec: PackageSpec) -> mwaa_package.MwaaPackage:
    return mwaa_package.build_package(
        airflow_version=spec.airflow_version, providers=set(spec.providers)
    )


@dataclass(frozen=True, kw_only=True)
class MwaaEnvironmentArgs:
    environment_name: str
    airflow_version: str
    environment_class: str
    execution_role_arn: pulumi.Input[str]
    source_bucket_arn: str
    dag_s3_path: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    webserver_access_mode: str
    airflow_configuration_options: pulumi.Input[Mapping[str, str]]
    package: PackageSpec
    protect: bool = False
    """`protect` the environment: replacing it drops its metadata database and run history."""
    tags: Mapping[str, str] = field(default_factory=dict)


class MwaaEnvironment(pulumi.ComponentResource):
    """An MWAA environment wired to the execution role, the secrets backend options and the
    package it installs (uploaded to the DAG bucket)."""

    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: MwaaEnvironmentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("airflow-atlas-identity:airflow:MwaaEnvironment", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        package = build(args.package)
        # The bytes go to a file named by their hash: the engine reads the asset from disk, and
        # two stacks (or plans) with the same package share it.
        folder = PACKAGE_DIR / package.plugins_sha256
        if not (ROOT / folder / "plugins.zip").is_file():
            package.write(ROOT / folder)
        bucket = args.source_bucket_arn.removeprefix("arn:aws:s3:::")
        plugins = aws.s3.BucketObjectv2(
            f"{name}-plugins",
            bucket=bucket,
            key=PLUGINS_KEY,
            source=pulumi.FileAsset(str(folder / "plugins.zip")),
            # source_hash, not etag: etag is not an MD5 under SSE-KMS (provider docs).
            source_hash=package.plugins_sha256,
            content_type="application/zip",
            tags=dict(args.tags),
            opts=child,
        )
        requirements = aws.s3.BucketObjectv2(
            f"{name}-requirements",
            bucket=bucket,
            key=REQUIREMENTS_KEY,
            content=package.requirements_txt.decode(),
            source_hash=package.requirements_sha256,
            content_type="text/plain",
            tags=dict(args.tags),
            opts=child,
        )
        logs = aws.mwaa.EnvironmentLoggingConfigurationTaskLogsArgs(enabled=True, log_level="INFO")
        environment = aws.mwaa.Environment(
            f"{name}-environment",
            name=args.environment_name,
            airflow_version=args.airflow_version,
            environment_class=args.environment_class,
            execution_role_arn=args.execution_role_arn,
            source_bucket_arn=args.source_bucket_arn,
            dag_s3_path=args.dag_s3_path,
            plugins_s3_path=plugins.key,
            plugins_s3_object_version=plugins.version_id,
            requirements_s3_path=requirements.key,
            requirements_s3_object_version=requirements.version_id,
            network_configuration=aws.mwaa.EnvironmentNetworkConfigurationArgs(
                subnet_ids=list(args.subnet_ids),
                security_group_ids=list(args.security_group_ids),
            ),
            webserver_access_mode=args.webserver_access_mode,
            airflow_configuration_options=args.airflow_configuration_options,
            logging_configuration=aws.mwaa.EnvironmentLoggingConfigurationArgs(
                task_logs=logs,
                scheduler_logs=aws.mwaa.EnvironmentLoggingConfigurationSchedulerLogsArgs(
                    enabled=True, log_level="WARNING"
                ),
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.arn = environment.arn
        self.register_outputs({"arn": self.arn})


def stack_mwaa(
    name: str,
    args: WiringArgs,
    execution_role_arn: pulumi.Output[str],
    options: pulumi.Output[dict[str, str]],
    opts: pulumi.ResourceOptions,
) -> tuple[pulumi.Output[str] | None, dict[str, Any] | None]:
    """The stack's MWAA side: the created environment's ARN, or (an environment the program
    does not create) what to upload to it; (None, None) without mwaaAirflowVersion."""
    if args.mwaa_package_version is None:
        return None, None
    package = PackageSpec.for_stack(
        args.mwaa_package_version,
        vault_backend=args.vault_kv,
        vault_dynamic=bool(args.pipelines_of(AuthMode.VAULT_DYNAMIC)),
    )
    if args.mwaa is None:
        return None, package_summary(package, build(package))
    environment = MwaaEnvironment(
        f"{name}-mwaa",
        MwaaEnvironmentArgs(
            environment_name=args.mwaa_environment_name,
            airflow_version=args.mwaa.airflow_version,
            environment_class=args.mwaa.environment_class,
            execution_role_arn=execution_role_arn,
            source_bucket_arn=args.mwaa_source_bucket_arn,
            dag_s3_path=args.mwaa.dag_s3_path,
            subnet_ids=args.mwaa.subnet_ids,
            security_group_ids=args.mwaa.security_group_ids,
            webserver_access_mode=args.mwaa.webserver_access_mode,
            airflow_configuration_options=options,
            package=package,
            protect=args.protect_stateful_resources,
            tags={"stack": args.stack},
        ),
        opts=opts,
    )
    return environment.arn, None
