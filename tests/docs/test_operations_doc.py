"""docs/operations.md: every command is the project's own or a standard CLI, and every URN,
module, script and Vault path it names exists in the project (checked against the prod plan)."""

from __future__ import annotations

import importlib.util
import json
import re
from typing import Any

import pytest

from tests.conftest import CommittedPlans
from tests.paths import ROOT

DOC = (ROOT / "docs" / "operations.md").read_text()
# Modules being built in parallel (policy pack check, snapshots); verified at merge.
ALLOWED = {"pulumi", "aws", "vault", "bao", "gh", "bash", ".venv/bin/python", "git", "cd"}
SHELL_BUILTINS = {"export", "rm", "shred"}


def commands() -> list[str]:
    """Shell lines of the bash blocks, with continuations joined and comments dropped."""
    found: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", DOC, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            text = line.split("  #")[0].strip()
            if text and not text.startswith("#"):
                found.append(text)
    return found


@pytest.fixture(scope="module")
def prod_plan(committed_plans: CommittedPlans) -> dict[str, Any]:
    return committed_plans["prod"]


def test_every_command_is_the_projects_or_a_standard_cli() -> None:
    lines = commands()
    assert len(lines) > 40
    for line in lines:
        for part in re.split(r"\s*&&\s*", line):
            first = part.split()[0]
            assert first in ALLOWED | SHELL_BUILTINS, line


def test_python_modules_and_scripts_exist() -> None:
    modules = set(re.findall(r"python -m ([a-z][\w.]*\w)", DOC))
    assert {"infra.plan", "policy.check", "infra.snapshot"} <= modules
    for module in modules:
        assert importlib.util.find_spec(module) is not None, module
    for script in set(re.findall(r"(scripts/[\w/-]*\w)", DOC)):
        assert (ROOT / script).is_file(), script


def test_every_urn_is_one_the_prod_stack_declares(prod_plan: dict[str, Any]) -> None:
    urns = {r["urn"] for r in prod_plan["resources"]}
    # The org stack's (§2.6) are checked against its own plan.
    org = json.loads((ROOT / "snapshots" / "org.plan.json").read_text())
    urns |= {r["urn"] for r in org["resources"]}
    # What the migration deletes from the environment stacks' state (§2.6): the org config and
    # the workload IdP earlier programs declared there, and that no environment declares now.
    atlas_access = (
        "::airflow-atlas-identity::airflow-atlas-identity:index:Wiring"
        "$airflow-atlas-identity:atlas:AtlasAccess$mongodbatlas:index/"
    )
    migrated = {
        f"urn:pulumi:{stack}{atlas_access}{kind}"
        for stack in ("dev", "prod")
        for kind in (
            "federatedSettingsOrgConfig:FederatedSettingsOrgConfig::identity-atlas-org-config",
            "federatedSettingsIdentityProvider:FederatedSettingsIdentityProvider"
            "::identity-atlas-workload-idp",
        )
    }
    assert not migrated & urns
    named = re.findall(r"['=](urn:pulumi:[^']+)'", DOC)
    assert len(named) >= 4  # three --replace targets and the import's parent
    for urn in named:
        assert urn in urns | migrated, urn


def test_vault_paths_and_names_are_the_prod_stacks(prod_plan: dict[str, Any]) -> None:
    inputs = json.dumps([r["inputs"] for r in prod_plan["resources"]])
    for path in ("aai-prod-atlas", "aai-prod-aws", "aai-prod-socket"):
        assert f'"path": "{path}"' in inputs, path
    assert '"role": "finance-reconcile"' in inputs
    assert '"name": "finance-reconcile"' in inputs  # the database role
    role_names = {r["inputs"].get("name") for r in prod_plan["resources"]}
    assert {"aai-prod-pipeline-orders-ingest", "aai-prod-pipeline-finance-reconcile"} <= role_names


def test_stack_outputs_named_in_the_runbook_exist(prod_plan: dict[str, Any]) -> None:
    for output in re.findall(r"pulumi stack output --stack prod (\w+)", DOC):
        assert output in prod_plan["outputs"], output


def test_runbook_covers_every_topic_of_the_issue() -> None:
    for heading in (
        "## 2. First deployment of a new environment",
        "### 2.5 Stack init, first `up`, and the workload IdP hand-off",
        "## 3. Adding and removing a pipeline",
        "### 4.2 Forcing a rotation",
        "## 5. Revoking a pipeline's access immediately",
        "## 6. When Vault or Okta is down",
        '## 7. Reading the audit trail: "which DAG run touched this collection?"',
    ):
        assert heading in DOC, heading
    for term in ("roleSessionName", "dag_id", "$external", "sys/audit-hash", "Repository secrets"):
        assert term in DOC, term
