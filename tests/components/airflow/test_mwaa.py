"""MwaaEnvironment: wired to the execution role, the backend options and the package it installs."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from components.airflow.mwaa import (
    PLUGINS_KEY,
    REQUIREMENTS_KEY,
    ROOT,
    MwaaEnvironment,
    MwaaEnvironmentArgs,
    PackageSpec,
    build,
    package_summary,
)
from devtools.offline import SECRET, mask_secrets
from runtime.tools import mwaa_package


def mwaa_args(protect: bool) -> MwaaEnvironmentArgs:
    return MwaaEnvironmentArgs(
        environment_name="analytics-test",
        airflow_version="3.0.6",
        environment_class="mw1.small",
        execution_role_arn="arn:aws:iam::123456789012:role/aai-test-mwaa-exec",
        source_bucket_arn="arn:aws:s3:::acme-dags",
        dag_s3_path="dags",
        subnet_ids=("subnet-1", "subnet-2"),
        security_group_ids=("sg-1",),
        webserver_access_mode="PRIVATE_ONLY",
        airflow_configuration_options={"secrets.backend": "x", "secrets.backend_kwargs": "{}"},
        package=PackageSpec(airflow_version="3.0.6", providers=("hashicorp", "mongo")),
        protect=protect,
    )


def test_mwaa_environment_is_wired_and_protected(run_component: Any) -> None:
    run = run_component(lambda: MwaaEnvironment("mwaa", mwaa_args(protect=True)))
    environment = run.monitor.one("aws:mwaa/environment:Environment", "mwaa-environment")
    assert environment.protect is True
    inputs = environment.inputs
    assert inputs["name"] == "analytics-test"
    assert inputs["executionRoleArn"] == "arn:aws:iam::123456789012:role/aai-test-mwaa-exec"
    assert inputs["networkConfiguration"] == {
        "subnetIds": ["subnet-1", "subnet-2"],
        "securityGroupIds": ["sg-1"],
    }
    assert inputs["webserverAccessMode"] == "PRIVATE_ONLY"
    # pulumi-aws always treats the options as secret.
    assert mask_secrets(inputs["airflowConfigurationOptions"]) == SECRET


def test_mwaa_environment_unprotected_outside_prod(run_component: Any) -> None:
    run = run_component(lambda: MwaaEnvironment("mwaa", mwaa_args(protect=False)))
    assert run.monitor.one("aws:mwaa/environment:Environment", "mwaa-environment").protect is False


def test_arn_output(run_component: Any) -> None:
    seen: list[str] = []

    def program() -> None:
        MwaaEnvironment("mwaa", mwaa_args(False)).arn.apply(seen.append)

    run_component(program)
    assert seen == ["arn:aws:airflow:eu-west-1:123456789012:environment/analytics-test"]


def test_the_package_is_uploaded_and_the_environment_pinned_to_its_versions(
    run_component: Any,
) -> None:
    run = run_component(lambda: MwaaEnvironment("mwaa", mwaa_args(protect=True)))
    package = build(PackageSpec(airflow_version="3.0.6", providers=("hashicorp", "mongo")))
    plugins = run.monitor.one("aws:s3/bucketObjectv2:BucketObjectv2", "mwaa-plugins")
    requirements = run.monitor.one("aws:s3/bucketObjectv2:BucketObjectv2", "mwaa-requirements")
    for obj in (plugins, requirements):
        assert str(obj.parent).endswith("::mwaa")
        assert obj.inputs["bucket"] == "acme-dags"
    assert plugins.inputs["key"] == PLUGINS_KEY == "atlas-identity/plugins.zip"
    assert plugins.inputs["sourceHash"] == package.plugins_sha256
    asset_path = ROOT / mask_secrets(plugins.inputs["source"])["fileAsset"]
    assert asset_path.read_bytes() == package.plugins_zip
    assert requirements.inputs["key"] == REQUIREMENTS_KEY == "atlas-identity/requirements.txt"
    assert requirements.inputs["content"] == package.requirements_txt.decode()
    assert requirements.inputs["sourceHash"] == package.requirements_sha256
    inputs = run.monitor.one("aws:mwaa/environment:Environment", "mwaa-environment").inputs
    assert (inputs["pluginsS3Path"], inputs["requirementsS3Path"]) == (
        PLUGINS_KEY,
        REQUIREMENTS_KEY,
    )
    # The versions S3 gave the uploads (offline: derived from bucket, key and content hash).
    assert inputs["pluginsS3ObjectVersion"] == run.monitor.resources[plugins.urn].state["versionId"]
    assert (
        inputs["requirementsS3ObjectVersion"]
        == run.monitor.resources[requirements.urn].state["versionId"]
    )
    assert inputs["pluginsS3ObjectVersion"] != inputs["requirementsS3ObjectVersion"]


def test_a_changed_package_changes_hash_and_version(run_component: Any) -> None:
    def versions(providers: tuple[str, ...]) -> tuple[str, str]:
        args = mwaa_args(False)
        spec = PackageSpec(airflow_version="3.0.6", providers=providers)
        run = run_component(
            lambda: MwaaEnvironment("mwaa", MwaaEnvironmentArgs(**{**vars(args), "package": spec}))
        )
        inputs = run.monitor.one("aws:mwaa/environment:Environment", "mwaa-environment").inputs
        return inputs["pluginsS3ObjectVersion"], inputs["requirementsS3ObjectVersion"]

    with_vault, without = versions(("hashicorp", "mongo")), versions(("mongo",))
    # Same plugins.zip (wheel + constraints), different requirements.txt.
    assert with_vault[0] == without[0]
    assert with_vault[1] != without[1]


def test_package_summary_says_what_to_upload() -> None:
    spec = PackageSpec(airflow_version="3.0.6", providers=("hashicorp", "mongo"))
    package = build(spec)
    assert package_summary(spec, package) == {
        "airflowVersion": "3.0.6",
        "providers": ["hashicorp", "mongo"],
        "pluginsS3Path": "atlas-identity/plugins.zip",
        "requirementsS3Path": "atlas-identity/requirements.txt",
        "pluginsSha256": package.plugins_sha256,
        "requirementsSha256": package.requirements_sha256,
        "command": "scripts/mwaa-package --airflow-version 3.0.6 --provider hashicorp",
    }
    assert PackageSpec(airflow_version="3.3.1", providers=("mongo",)).build_command() == (
        "scripts/mwaa-package --airflow-version 3.3.1"
    )


@pytest.mark.parametrize("providers", [("mongo",), ("hashicorp", "mongo")])
def test_the_summary_matches_what_the_script_writes(
    providers: tuple[str, ...], tmp_path: Any
) -> None:
    """The command in the summary builds the same bytes the hashes name."""
    spec = PackageSpec(airflow_version="3.0.6", providers=providers)
    summary = package_summary(spec, build(spec))
    argv = [*summary["command"].split()[1:], "--out", str(tmp_path)]
    assert mwaa_package.main(argv) == 0
    written = mwaa_package.MwaaPackage(
        airflow_version="3.0.6",
        plugins_zip=(tmp_path / "plugins.zip").read_bytes(),
        requirements_txt=(tmp_path / "requirements.txt").read_bytes(),
        wheel="",
    )
    assert (written.plugins_sha256, written.requirements_sha256) == (
        summary["pluginsSha256"],
        summary["requirementsSha256"],
    )
    with zipfile.ZipFile(io.BytesIO(written.plugins_zip)) as archive:
        assert "constraints-airflow-3.0.6.txt" in archive.namelist()
