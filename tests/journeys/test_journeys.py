"""What a platform engineer does, end to end, on a scratch clone, with no test edited.

Each journey types the documented commands (README.md, CONTRIBUTING.md, docs/operations.md) and
then re-runs every suite that reads what the repository commits (`-m repository_data`, derived
in tests/conftest.py): the change a user makes to the data must never need a test edit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.settings.org import PENDING
from model.naming import Naming
from tests.journeys.scratch import PROJECT, edit_stack, run, scratch_clone

pytestmark = pytest.mark.journey

NEW_PIPELINES: list[dict[str, Any]] = [
    {
        "name": "returns-ingest",
        "authMode": "aws-iam",
        "grants": [
            {
                "database": "sales",
                "collections": ["returns", "return_items"],
                "access": "read-write",
            },
            {"database": "reference", "collections": ["currencies"], "access": "read"},
        ],
    },
    {
        "name": "partner-returns",
        "authMode": "okta-oidc",
        "grants": [
            {"database": "sales", "collections": ["returns"], "access": "read"},
            {"database": "partners", "collections": ["return_cursors"], "access": "read-write"},
        ],
    },
    {
        "name": "ledger-audit",
        "authMode": "vault-dynamic",
        "grants": [
            {"database": "finance", "collections": ["ledger"], "access": "read"},
            {"database": "finance", "collections": ["audit_notes"], "access": "insert-only"},
        ],
    },
]


def stack_config(repo: Path, stack: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((repo / f"Pulumi.{stack}.yaml").read_text())["config"]
    return config


def plan(repo: Path, stack: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / f"{stack}.json"
    done = run(repo, "infra.plan", "--stack", stack, "--json", str(out))
    assert done.code == 0, done.err
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def test_add_pipelines_remove_one_add_a_stack_and_the_suites_pass(tmp_path: Path) -> None:
    repo = scratch_clone(tmp_path)

    def add(config: dict[str, Any]) -> None:
        config[f"{PROJECT}:pipelines"].extend(NEW_PIPELINES)

    edit_stack(repo, "dev", add)
    regenerated = run(repo, "infra.snapshot")
    assert regenerated.code == 0, regenerated.err
    assert regenerated.err == ""  # nothing vanished: additions need no flag and no note
    access = (repo / "snapshots" / "dev.access.md").read_text()
    for pipeline in NEW_PIPELINES:
        assert f"mongo_{pipeline['name'].replace('-', '_')}" in access

    def remove(config: dict[str, Any]) -> None:
        pipelines = config[f"{PROJECT}:pipelines"]
        pipelines.pop(next(i for i, p in enumerate(pipelines) if p["name"] == "crm-explorer"))

    edit_stack(repo, "dev", remove)
    removed = run(repo, "infra.snapshot")
    assert removed.code == 0, removed.err
    assert "resource(s) removed; `pulumi up` will DELETE them" in removed.err
    assert "crm-explorer" in removed.err
    assert "--accept-urn-changes" not in removed.err

    added = run(repo, "infra.stack", "add", "staging", "--like", "dev")
    assert added.code == 0, added.err
    assert (repo / "Pulumi.staging.yaml").is_file()

    suites = run(
        repo,
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-m",
        "repository_data",
        "-x",
        "-rf",
        "-p",
        "no:warnings",
    )
    assert suites.code == 0, suites.out[-3000:]


def test_a_rename_still_asks_for_aliases(tmp_path: Path) -> None:
    repo = scratch_clone(tmp_path)

    def rename(config: dict[str, Any]) -> None:
        pipeline = next(p for p in config[f"{PROJECT}:pipelines"] if p["name"] == "crm-explorer")
        pipeline["name"] = "crm-inspector"

    edit_stack(repo, "dev", rename)
    refused = run(repo, "infra.snapshot")
    assert refused.code == 1
    assert "Resources of the same types appear: if this is a rename or a move" in refused.err
    assert "--accept-urn-changes" in refused.err
    accepted = run(repo, "infra.snapshot", "--accept-urn-changes")
    assert accepted.code == 0, accepted.err


def test_an_okta_stack_merges_before_the_org_stack_knows_it(tmp_path: Path) -> None:
    """Commit 1: the new stack and its org entry, pending. Commit 2, after its first deploy: the
    issuer, the org stack's IdP, the stack's atlasWorkloadIdpId (docs/operations.md)."""
    repo = scratch_clone(tmp_path)
    assert run(repo, "infra.stack", "add", "qa", "--like", "dev").code == 0
    entries = stack_config(repo, "org")[f"{PROJECT}:atlasWorkloadIdps"]
    (entry,) = [e for e in entries if e["stack"] == "qa"]
    assert entry["issuerUri"] == PENDING
    org = plan(repo, "org", tmp_path)
    assert org["outputs"]["pendingWorkloadIdps"] == ["qa"]
    assert "qa" not in org["outputs"]["workloadIdpIds"]
    qa = plan(repo, "qa", tmp_path)
    okta = {
        row["pipeline"] for row in qa["outputs"]["accessMatrix"] if row["authMode"] == "okta-oidc"
    }
    assert okta
    assert {
        row["identity"] for row in qa["outputs"]["accessMatrix"] if row["pipeline"] in okta
    } == {"none yet: atlasWorkloadIdpId is unset (org stack)"}
    assert run(repo, "infra.snapshot", "--check").code == 0

    # Commit 2: what the first deploy exported goes into the org stack, then back.
    def complete(config: dict[str, Any]) -> None:
        for item in config[f"{PROJECT}:atlasWorkloadIdps"]:
            if item["stack"] == "qa":
                item["issuerUri"] = qa["outputs"]["oktaIssuer"]

    edit_stack(repo, "org", complete)
    org = plan(repo, "org", tmp_path)
    assert "pendingWorkloadIdps" not in org["outputs"]
    idp_id = org["outputs"]["workloadIdpIds"]["qa"]
    edit_stack(repo, "qa", lambda c: c.update({f"{PROJECT}:atlasWorkloadIdpId": idp_id}))
    qa = plan(repo, "qa", tmp_path)
    users = [
        r["inputs"]["username"]
        for r in qa["resources"]
        if r["type"] == "mongodbatlas:index/databaseUser:DatabaseUser"
        and r["inputs"].get("oidcAuthType") == "USER"
    ]
    assert sorted(users) == sorted(
        f"{idp_id}/{cid}" for cid in qa["outputs"]["oktaClientIds"].values()
    )
    assert run(repo, "infra.snapshot").code == 0
    assert run(repo, "infra.snapshot", "--check").code == 0


def test_revoking_the_last_vault_dynamic_pipeline_names_the_protected_mounts(
    tmp_path: Path,
) -> None:
    repo = scratch_clone(tmp_path)
    config = stack_config(repo, "prod")
    dynamic = [
        p["name"] for p in config[f"{PROJECT}:pipelines"] if p["authMode"] == "vault-dynamic"
    ]
    assert len(dynamic) == 1

    def revoke(config: dict[str, Any]) -> None:
        pipelines = config[f"{PROJECT}:pipelines"]
        pipelines.pop(next(i for i, p in enumerate(pipelines) if p["name"] == dynamic[0]))

    def remove_keys(keys: list[str]) -> None:
        def drop(config: dict[str, Any]) -> None:
            for key in keys:
                del config[f"{PROJECT}:{key}"]

        edit_stack(repo, "prod", drop)

    naming = Naming(prefix=config.get(f"{PROJECT}:namePrefix", "aai"), stack="prod")
    mounts = {naming.vault_database_mount(), naming.vault_aws_auth_mount()}
    before = json.loads((repo / "snapshots" / "prod.plan.json").read_text())["resources"]
    expected = sorted(r["urn"] for r in before if r["inputs"].get("path") in mounts)
    assert len(expected) == len(mounts)

    edit_stack(repo, "prod", revoke)
    # The settings say which keys only vault-dynamic pipelines use; the user removes them.
    refused = run(repo, "infra.snapshot", "--stack", "prod")
    assert refused.code == 2
    keys = [
        line.removeprefix("prod: ").split(":", 1)[0]
        for line in refused.err.splitlines()
        if line.endswith(("vault-dynamic; remove it", "vault-dynamic pipelines; remove it"))
    ]
    assert keys
    remove_keys(keys)
    done = run(repo, "infra.snapshot", "--stack", "prod")
    assert done.code == 0, done.err
    protected = [
        line.strip().removeprefix("- ").removesuffix(" (protected)")
        for line in done.err.splitlines()
        if line.endswith("(protected)")
    ]
    assert sorted(protected) == expected
    assert "docs/operations.md §5, 'The last vault-dynamic pipeline of a stack'" in done.err
