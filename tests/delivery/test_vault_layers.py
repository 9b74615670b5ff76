"""scripts/ci/vault-structure-urns: exactly the Vault structure of the plan and of the state, so
CI's `up` excludes all of it and the structure workflow targets all of it (removals included)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from components.vault.access import STRUCTURAL_TYPES
from devtools import plan as stack_plan
from tests.paths import ROOT

DATA_PLANE = {
    "vault:database/secretBackendConnection:SecretBackendConnection",
    "vault:kv/secretV2:SecretV2",
}


def test_structure_urns_are_the_plans_and_the_states(tmp_path: Path) -> None:
    plan = stack_plan.plan(stack_plan.read_stack_file(ROOT / "Pulumi.prod.yaml"))
    vault_types = {r["type"] for r in plan["resources"] if r["type"].startswith("vault:")}
    # Every Vault type the program declares is either structure or data plane, never unclassified.
    assert vault_types == (set(STRUCTURAL_TYPES) & vault_types) | DATA_PLANE
    removed = "urn:pulumi:prod::airflow-atlas-identity::vault:index/policy:Policy::gone"
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps(
            {
                "deployment": {
                    "resources": [
                        {"urn": removed, "type": "vault:index/policy:Policy"},
                        {"urn": "urn:x::data", "type": "vault:kv/secretV2:SecretV2"},
                    ]
                }
            }
        )
    )
    result = subprocess.run(
        [
            str(shutil.which("bash")),
            str(ROOT / "scripts" / "ci" / "vault-structure-urns"),
            "prod",
            str(state),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    expected = sorted(
        {r["urn"] for r in plan["resources"] if r["type"] in STRUCTURAL_TYPES} | {removed}
    )
    assert result.stdout.splitlines() == expected
    assert any("vault:index/audit:Audit" in urn for urn in expected)
