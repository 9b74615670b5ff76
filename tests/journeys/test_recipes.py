"""CONTRIBUTING.md's change map, walked on a scratch clone: a recipe's steps are done as written,
the files they touched are exactly those the recipe names, and the result reaches the plan.

"Add or change a setting": a new key `costCenter`, tagged on the stack's IAM roles. Each edit is
anchored on the code it extends; an anchor that moved fails with its file named, so the walk is
updated together with the code and the recipe.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.journeys.scratch import PROJECT, edit_stack, run, scratch_clone
from tests.paths import ROOT

pytestmark = pytest.mark.journey

KEY_ENTRY = """    "costCenter": Key(
        type="string",
        description="Cost center tagged on the stack's IAM roles",
        unset="no cost-center tag",
        example="analytics-42",
    ),
"""


def edit(repo: Path, path: str, anchor: str, replacement: str) -> None:
    file = repo / path
    text = file.read_text()
    assert text.count(anchor) == 1, f"{path}: the recipe walk's anchor moved: {anchor!r}"
    file.write_text(text.replace(anchor, replacement))


def recipe_paths(heading: str) -> list[str]:
    """The repository paths a change-map recipe names (backticked, `<part>` as a wildcard)."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return [
        re.sub(r"<[^>]+>", "*", path)
        for path in re.findall(r"`([\w./<>-]+)`", section)
        if "/" in path or path.endswith((".py", ".yaml", ".md"))
    ]


def changed_files(repo: Path) -> set[str]:
    done = subprocess.run(
        ["git", "status", "--porcelain"],  # noqa: S607
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return {line[3:] for line in done.stdout.splitlines()}


def test_add_a_setting_as_the_change_map_says_and_see_it_on_the_resource(tmp_path: Path) -> None:
    repo = scratch_clone(tmp_path)
    # 1. The entry in KEYS.
    edit(
        repo,
        "infra/settings/keys.py",
        '    "deployerRoleArn": Key(\n',
        KEY_ENTRY + '    "deployerRoleArn": Key(\n',
    )
    # 2. Read and validate it where its part of the stack file is read (AWS: infra/settings).
    edit(
        repo,
        "infra/settings/__init__.py",
        "    return _AwsSettings(\n",
        '    cost_center = r.string(values, "costCenter", "", required=False)\n'
        "    return _AwsSettings(\n        cost_center=cost_center,\n",
    )
    edit(
        repo,
        "infra/settings/__init__.py",
        "class _AwsSettings:\n",
        "class _AwsSettings:\n    cost_center: str | None\n",
    )
    edit(
        repo,
        "infra/settings/__init__.py",
        "        aws_account_id=present(aws.account_id),\n",
        "        cost_center=aws.cost_center,\n        aws_account_id=present(aws.account_id),\n",
    )
    # 3. The field the components receive.
    edit(
        repo,
        "model/specs.py",
        "    naming: Naming\n    aws_account_id: str\n",
        "    naming: Naming\n    cost_center: str | None = None\n    aws_account_id: str\n",
    )
    # 4. The system's wiring step hands it to the component (AwsIdentityArgs has `tags`).
    edit(
        repo,
        "components/aws/wiring.py",
        "            secrets_kms_key_arn=args.secrets_kms_key_arn,\n",
        "            secrets_kms_key_arn=args.secrets_kms_key_arn,\n"
        '            tags={"cost-center": args.cost_center} if args.cost_center else {},\n',
    )
    # 5. The generated declarations and docs; a stack sets the key.
    generated = run(repo, "infra.settings.generate")
    assert generated.code == 0, generated.err
    edit_stack(repo, "dev", lambda config: config.update({f"{PROJECT}:costCenter": "analytics-42"}))

    out = tmp_path / "dev.json"
    planned = run(repo, "infra.plan", "--stack", "dev", "--json", str(out))
    assert planned.code == 0, planned.err
    roles = [
        r for r in json.loads(out.read_text())["resources"] if r["type"] == "aws:iam/role:Role"
    ]
    assert roles
    assert all(r["inputs"]["tags"]["cost-center"] == "analytics-42" for r in roles)

    listed = recipe_paths("Add or change a setting")
    touched = changed_files(repo) - {"Pulumi.dev.yaml"}  # the user's stack, not the recipe's
    unlisted = sorted(f for f in touched if not any(fnmatch.fnmatch(f, p) for p in listed))
    assert unlisted == [], f"CONTRIBUTING's recipe does not name {unlisted}"


def test_add_a_preset_as_the_change_map_says_and_see_its_actions_planned(tmp_path: Path) -> None:
    repo = scratch_clone(tmp_path)
    # 1. The preset in PRESETS, its actions among the known ones.
    edit(
        repo,
        "model/access.py",
        '    "insert-only": ("INSERT",),\n',
        '    "insert-only": ("INSERT",),\n    "append-read": ("FIND", "INSERT"),\n',
    )
    # 2. Its exact actions, where the presets are tested.
    edit(
        repo,
        "tests/model/test_access.py",
        "from __future__ import annotations\n",
        "from __future__ import annotations\n\n\ndef test_append_read() -> None:\n"
        '    from model.access import PRESETS\n\n    assert PRESETS["append-read"] == '
        '("FIND", "INSERT")\n',
    )
    # 3. The generated docs list the presets.
    generated = run(repo, "infra.settings.generate")
    assert generated.code == 0, generated.err

    def use(config: dict[str, Any]) -> None:
        first = config[f"{PROJECT}:pipelines"][0]
        first["grants"][0]["access"] = "append-read"

    edit_stack(repo, "dev", use)
    out = tmp_path / "dev.json"
    planned = run(repo, "infra.plan", "--stack", "dev", "--json", str(out))
    assert planned.code == 0, planned.err
    matrix = json.loads(out.read_text())["outputs"]["accessMatrix"]
    pipeline = stack_pipelines(repo)[0]
    grant = pipeline["grants"][0]
    rows = [
        r
        for r in matrix
        if r["pipeline"] == pipeline["name"]
        and r["database"] == grant["database"]
        and r["collection"] in grant["collections"]
    ]
    assert rows
    assert all(set(r["actions"]) == {"FIND", "INSERT"} for r in rows)
    tested = run(repo, "pytest", "-p", "no:cacheprovider", "-q", "tests/model/test_access.py")
    assert tested.code == 0, tested.out[-2000:]

    listed = recipe_paths("Add a grant preset")
    touched = changed_files(repo) - {"Pulumi.dev.yaml"}
    unlisted = sorted(f for f in touched if not any(fnmatch.fnmatch(f, p) for p in listed))
    assert unlisted == [], f"CONTRIBUTING's recipe does not name {unlisted}"


def stack_pipelines(repo: Path) -> list[dict[str, Any]]:
    config = yaml.safe_load((repo / "Pulumi.dev.yaml").read_text())["config"]
    pipelines: list[dict[str, Any]] = config[f"{PROJECT}:pipelines"]
    return pipelines
