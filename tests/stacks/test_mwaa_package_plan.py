"""The committed stacks' MWAA package: prod uploads it and pins its environment to the uploaded
versions; dev (an environment the program does not create) exports what to upload."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from devtools.offline.computed import COMPUTED
from tests.conftest import CommittedPlans
from tests.paths import ROOT

OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
PLUGINS = "/usr/local/airflow/plugins"


def one(plan: dict[str, Any], type_token: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in plan["resources"] if r["type"] == type_token and r["name"] == name]
    return dict(found)


def constraint_line(version: str, distribution: str) -> str:
    """The `name==version` line of MWAA's constraints file for `version` (read as text)."""
    text = (ROOT / "requirements" / f"mwaa-{version}.txt").read_text()
    (line,) = [x for x in text.splitlines() if x.startswith(f"{distribution}==")]
    return line


def version_id(obj: dict[str, Any]) -> str:
    """The version the offline S3 gives an upload (bucket, key and content hash)."""
    return str(COMPUTED[OBJECT](obj["inputs"], obj["name"])[1]["versionId"])


def test_prod_plan_from_the_cli_shows_the_package_on_the_environment(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    subprocess.run(
        [sys.executable, "-m", "infra.plan", "--stack", "prod", "--json", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    plan = json.loads(out.read_text())
    plugins = one(plan, OBJECT, "identity-mwaa-plugins")
    requirements = one(plan, OBJECT, "identity-mwaa-requirements")
    environment = one(plan, "aws:mwaa/environment:Environment", "identity-mwaa-environment")
    assert {k: environment["inputs"][k] for k in sorted(environment["inputs"]) if "S3" in k} == {
        "dagS3Path": "dags",
        "pluginsS3ObjectVersion": version_id(plugins),
        "pluginsS3Path": "atlas-identity/plugins.zip",
        "requirementsS3ObjectVersion": version_id(requirements),
        "requirementsS3Path": "atlas-identity/requirements.txt",
    }
    for obj in (plugins, requirements):
        assert obj["inputs"]["bucket"] == "acme-mwaa-prod-dags"
        assert obj["parent"] == environment["parent"]
    source = ROOT / plugins["inputs"]["source"]["fileAsset"]
    assert plugins["inputs"]["sourceHash"] == source.parent.name
    lines = requirements["inputs"]["content"].splitlines()
    # Vault is prod's secrets backend: hashicorp besides mongo, at MWAA 3.0.6's pinned versions.
    assert lines[2:6] == [
        f"--constraint {PLUGINS}/constraints-airflow-3.0.6.txt",
        "apache-airflow==3.0.6",
        constraint_line("3.0.6", "apache-airflow-providers-hashicorp"),
        constraint_line("3.0.6", "apache-airflow-providers-mongo"),
    ]
    assert lines[4:6] == [
        "apache-airflow-providers-hashicorp==4.3.2",
        "apache-airflow-providers-mongo==5.2.2",
    ]
    assert "mwaaPackage" not in plan["outputs"]


def test_dev_exports_what_to_upload(committed_plans: CommittedPlans) -> None:
    plan = committed_plans["dev"]
    assert [r for r in plan["resources"] if r["type"] == OBJECT and "-mwaa-" in r["name"]] == []
    package = plan["outputs"]["mwaaPackage"]
    assert {k: v for k, v in package.items() if not k.endswith("Sha256")} == {
        "airflowVersion": "3.0.6",
        # dev has a vault-dynamic pipeline (finance-reconcile): hashicorp besides mongo.
        "providers": ["hashicorp", "mongo"],
        "pluginsS3Path": "atlas-identity/plugins.zip",
        "requirementsS3Path": "atlas-identity/requirements.txt",
        "command": "scripts/mwaa-package --airflow-version 3.0.6 --provider hashicorp",
    }
    # dev and prod need the same providers on the same Airflow: the same package.
    prod = committed_plans["prod"]
    assert (
        package["pluginsSha256"]
        == one(prod, OBJECT, "identity-mwaa-plugins")["inputs"]["sourceHash"]
    )
    assert (
        package["requirementsSha256"]
        == one(prod, OBJECT, "identity-mwaa-requirements")["inputs"]["sourceHash"]
    )
