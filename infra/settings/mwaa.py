"""The MWAA environment the program creates when `mwaaCreateEnvironment` is true."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.settings.reader import Reader
from model.limits.values import MWAA_AIRFLOW_VERSIONS, MWAA_ENVIRONMENT_CLASSES
from model.specs import MwaaSpec
from runtime.tools.mwaa_package import supported_versions

# Documented values, one source of truth with the plan's value rules (model/limits/values.py).
ENVIRONMENT_CLASSES = MWAA_ENVIRONMENT_CLASSES
ACCESS_MODES = ("PRIVATE_ONLY", "PUBLIC_ONLY")
# Versions MWAA offers whose constraints requirements/ keeps: the package can be built for these.
PACKAGED_VERSIONS = tuple(v for v in MWAA_AIRFLOW_VERSIONS if v in supported_versions())


def package_version(r: Reader, values: Mapping[str, Any], *, create: bool | None) -> str | None:
    """The MWAA Airflow version the stack's package (runtime + providers) is built for.

    Required when the program creates the environment; otherwise optional: set, the stack
    exports what to upload to the existing environment (`mwaaPackage`). Only versions whose
    MWAA constraints are kept in requirements/ can be packaged.
    """
    if not create and "mwaaAirflowVersion" not in values:
        return None  # also when mwaaCreateEnvironment is invalid: required or not is unknown
    version = r.choice(values, "mwaaAirflowVersion", "", MWAA_AIRFLOW_VERSIONS)
    if version is not None and version not in PACKAGED_VERSIONS:
        r.fail(
            "mwaaAirflowVersion",
            f"'{version}' has no MWAA constraints kept in requirements/, so its package cannot "
            f"be built; use one of {', '.join(PACKAGED_VERSIONS)}",
        )
        return None
    return version


def mwaa_environment(
    r: Reader, values: Mapping[str, Any], *, create: bool | None
) -> MwaaSpec | None:
    """`create`: mwaaCreateEnvironment, None when invalid: the environment's keys are then
    neither required nor refused."""
    if create is None:
        return None
    env_keys = (
        "mwaaEnvironmentClass",
        "mwaaDagS3Path",
        "mwaaSubnetIds",
        "mwaaSecurityGroupIds",
        "mwaaWebserverAccessMode",
    )
    if not create:
        for key in env_keys:
            if key in values:
                r.fail(
                    key,
                    "only applies when mwaaCreateEnvironment is true; remove it or "
                    "set mwaaCreateEnvironment: true",
                )
        return None
    version = values.get("mwaaAirflowVersion")  # checked by package_version
    env_class = r.choice(
        values, "mwaaEnvironmentClass", "", ENVIRONMENT_CLASSES, default="mw1.small"
    )
    dag_path = r.string(values, "mwaaDagS3Path", "", default="dags")
    subnets = r.strings(values, "mwaaSubnetIds", "")
    if subnets is not None and len(subnets) != 2:
        r.fail("mwaaSubnetIds", f"MWAA needs exactly 2 private subnets, got {len(subnets)}")
    groups = r.strings(values, "mwaaSecurityGroupIds", "")
    mode = r.choice(values, "mwaaWebserverAccessMode", "", ACCESS_MODES, default="PRIVATE_ONLY")
    if not (version and env_class and dag_path and subnets and groups and mode):
        return None
    return MwaaSpec(
        airflow_version=str(version),
        environment_class=env_class,
        dag_s3_path=dag_path,
        subnet_ids=subnets,
        security_group_ids=groups,
        webserver_access_mode=mode,
    )
