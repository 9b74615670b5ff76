"""`python -m infra.plan`: the offline plan contract (docs/plan-format.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools import plan as offline_plan
from tests.conftest import ROOT


def test_json_plan_follows_the_contract(tmp_path: Path) -> None:
    out = tmp_path / "dev.json"
    assert offline_plan.main(["--stack", "dev", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert (result["project"], result["stack"]) == ("airflow-atlas-identity", "dev")
    assert set(result) == {"project", "stack", "resources", "outputs"}
    for resource in result["resources"]:
        assert set(resource) == {"urn", "type", "name", "parent", "custom", "protect", "inputs"}
        assert resource["urn"].startswith("urn:pulumi:dev::airflow-atlas-identity::")
        assert resource["urn"].endswith(f"::{resource['name']}")
    components = {r["type"] for r in result["resources"] if not r["custom"]}
    assert components == {
        "airflow-atlas-identity:index:Wiring",
        "airflow-atlas-identity:aws:AwsIdentity",
        "airflow-atlas-identity:atlas:AtlasAccess",
        "airflow-atlas-identity:airflow:AirflowConnections",
        "airflow-atlas-identity:okta:OktaWorkloadIdentity",
        "airflow-atlas-identity:vault:VaultAccess",
    }
    versions = [
        r
        for r in result["resources"]
        if r["type"] == "aws:secretsmanager/secretVersion:SecretVersion"
    ]
    assert {v["inputs"]["secretString"] for v in versions} == {"[secret]"}


def test_human_summary_shows_counts_and_the_access_matrix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert offline_plan.main(["--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Plan of airflow-atlas-identity/dev: 67 resources in 6 components\n")
    assert "5      mongodbatlas:index/databaseUser:DatabaseUser" in out
    rows = [line.split() for line in out.splitlines()]
    assert [
        "orders-ingest",
        "aws-iam",
        "sales.orders",
        "COLL_STATS,FIND,INSERT,LIST_INDEXES,REMOVE,UPDATE",
        "arn:aws:iam::210987654321:role/aai-dev-pipeline-orders-ingest",
        "mongo_orders_ingest",
    ] in rows
    assert [
        "finance-reconcile",
        "vault-dynamic",
        "finance.ledger",
        "COLL_STATS,FIND,INSERT,LIST_INDEXES,REMOVE,UPDATE",
        "vault:aai-dev-atlas/creds/finance-reconcile",
        "mongo_finance_reconcile",
    ] in rows


def write_stack(tmp_path: Path, change: dict[str, Any]) -> Path:
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"].update(change)
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_invalid_settings_exit_2_naming_every_key_and_plan_nothing(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    pipelines = config["airflow-atlas-identity:pipelines"]
    pipelines[2]["grants"][0]["collections"] = []
    pipelines[1]["grants"][0]["access"] = "readwrite"
    path = write_stack(
        tmp_path,
        {
            "airflow-atlas-identity:pipelines": pipelines,
            "airflow-atlas-identity:awsAccountId": "not-an-account",
        },
    )
    out = tmp_path / "plan.json"
    # A real subprocess: the exit code and stderr are the contract.
    completed = subprocess.run(
        [sys.executable, "-m", "infra.plan", "--config-file", str(path), "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        "awsAccountId: 'not-an-account' is not valid; use the 12-digit account id, e.g. 123456789012",
        "pipelines[1].grants[0].access: 'readwrite' is not a preset; use one of read, read-write, "
        "insert-only, read-changes, or list explicit actions",
        "pipelines[2].grants[0].collections: is empty; list the collections, or '*' for all",
    ]
    assert not out.exists()


def test_encrypted_values_are_reported_not_guessed(tmp_path: Path) -> None:
    path = write_stack(tmp_path, {"airflow-atlas-identity:atlasProjectId": {"secure": "AAABAC=="}})
    with pytest.raises(offline_plan.stack_settings.SettingsError) as raised:
        offline_plan.plan(offline_plan.read_stack_file(path))
    assert [p.path for p in raised.value.problems] == ["airflow-atlas-identity:atlasProjectId"]


def test_stack_name_comes_from_the_file_name(tmp_path: Path) -> None:
    path = write_stack(tmp_path, {})
    assert offline_plan.read_stack_file(path).stack == "broken"
