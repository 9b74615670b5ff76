"""The stack's model as the evidence reads it from a plan, and what the package does not import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit_trail.model import PlanError, load, read_plan, stack_model
from tests.audit_trail.conftest import ROOT
from tests.plans import committed_plan
from tests.stacks_discovery import NON_ENVIRONMENT_STACKS, STACKS

ENVIRONMENTS = [s for s in STACKS if s not in NON_ENVIRONMENT_STACKS]
DATABASE_USER = "mongodbatlas:index/databaseUser:DatabaseUser"


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_each_pipeline_is_its_planned_identity_user_and_grants(stack: str) -> None:
    snapshot = ROOT / "snapshots" / f"{stack}.plan.json"
    model = load(snapshot, stack=stack)
    plan = json.loads(snapshot.read_text())
    outputs = plan["outputs"]
    users = {
        r["inputs"]["username"]: r["inputs"]
        for r in plan["resources"]
        if r["type"] == DATABASE_USER
    }
    rows = outputs["accessMatrix"]
    assert {p.name for p in model.pipelines} == {r["pipeline"] for r in rows}
    assert len(model.grants) == len(rows)
    for p in model.pipelines:
        assert p.role_arn == outputs["pipelineRoleArns"][p.name]
        assert p.connection_id == outputs["connectionIds"][p.name]
        if p.auth_mode == "vault-dynamic":
            assert p.atlas_user is None
            assert f"vault:{p.vault_creds_path}" in {r["identity"] for r in rows}
            assert p.atlas_db == "admin"
        elif p.atlas_user is None:
            # Merged before the org stack created its workload IdP: no Atlas user yet.
            assert p.auth_mode == "okta-oidc"
            assert not any(r["pipeline"] == p.name and r["identity"] in users for r in rows)
        else:
            user = users[p.atlas_user]
            assert (p.atlas_db, p.project_id) == (user["authDatabaseName"], user["projectId"])
            assert user["scopes"][0]["name"] == p.cluster
        assert p.project_id


def test_the_plan_form_and_the_snapshot_form_give_one_model(tmp_path: Path) -> None:
    """`python -m infra.plan --json` holds JSON documents as strings, the snapshot expands
    them; tests/plans.py turns the snapshot back into the former."""
    plan_form = tmp_path / "dev.json"
    plan_form.write_text(json.dumps(committed_plan("dev")))
    assert load(plan_form, stack="dev") == load(ROOT / "snapshots" / "dev.plan.json", stack="dev")


def test_a_plan_without_pipelines_or_of_another_stack_is_refused() -> None:
    org: dict[str, Any] = read_plan(ROOT / "snapshots" / "org.plan.json")
    with pytest.raises(PlanError, match="exports no accessMatrix"):
        stack_model(org)
    with pytest.raises(PlanError, match="plan of stack 'dev', not 'prod'"):
        load(ROOT / "snapshots" / "dev.plan.json", stack="prod")


def test_the_package_imports_neither_pulumi_nor_the_program() -> None:
    code = (
        "import sys, audit_trail.cli, audit_trail.engine, audit_trail.report, audit_trail.s3; "
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout.replace("'", '"')))
    forbidden = {
        "pulumi",
        "pulumi_aws",
        "pulumi_mongodbatlas",
        "pulumi_vault",
        "components",
        "infra",
        "bootstrap",
        "policy",
        "model",
        "devtools",
    }
    assert loaded & forbidden == set()
    assert "duckdb" in loaded
