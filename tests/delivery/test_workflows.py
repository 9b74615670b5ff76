"""The delivery workflows keep the properties teams rely on when they adopt them as they are.

Pinned actions, minimal permissions per job, `id-token: write` only where a cloud identity is
used, forks get no identity, previews and prod runs only behind reviewed environments, identities
held by one step and never exported, every `pulumi up` serialized per stack and never cancelled,
dev before prod, and the names the bootstrap trusts are the names the workflows use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.paths import ROOT
from tests.stacks_discovery import STACKS

GITHUB = ROOT / ".github"
WORKFLOWS = {p.stem: p for p in sorted((GITHUB / "workflows").glob("*.yml"))}
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
TOOLS_ACTION = "./.github/actions/pulumi-tools"
PULUMI_RUN = "bash scripts/ci/pulumi-run"
UP_WORKFLOW = "./.github/workflows/pulumi-up.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$")
# Environment stacks only: the `org` stack (workload IdPs, org config) is applied by an Org Owner
# by hand (docs/operations.md, "The org stack"); CI checks its plan through `infra.snapshot --check`.
# Workflows list stacks in whatever order they were added: compared as sorted lists (a set that
# also catches a stack listed twice).
COMMITTED_STACKS = sorted(STACKS)


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


def triggers(workflow: dict[Any, Any]) -> dict[Any, Any]:
    """YAML 1.1 reads the key `on` as the boolean True."""
    on = workflow.get("on", workflow.get(True))
    return on if isinstance(on, dict) else {on: None}


def jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, path in WORKFLOWS.items():
        for job_id, job in load(path)["jobs"].items():
            yield name, job_id, job


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def run_scripts() -> Iterator[tuple[str, str]]:
    for name, job_id, job in jobs():
        for step in steps(job):
            if "run" in step:
                yield f"{name}.{job_id}", step["run"]
    for path in ACTIONS:
        for step in load(path)["runs"]["steps"]:
            if "run" in step:
                yield str(path.relative_to(ROOT)), step["run"]


def uses_lines() -> Iterator[tuple[str, str, str]]:
    for path in [*WORKFLOWS.values(), *ACTIONS]:
        for line in path.read_text().splitlines():
            match = USES_LINE.match(line)
            if match:
                yield path.name, match.group(1), match.group(2) or ""


def grants_id_token(job: dict[str, Any]) -> bool:
    return (job.get("permissions") or {}).get("id-token") == "write"


# -- pinning ---------------------------------------------------------------------------------


def test_every_action_is_pinned_by_full_commit_sha_with_its_version() -> None:
    seen = list(uses_lines())
    assert seen
    for file, ref, comment in seen:
        if ref.startswith("./"):
            assert (ROOT / ref.removeprefix("./")).exists(), (file, ref)
            continue
        assert PINNED.match(ref), f"{file}: {ref} is not pinned to a 40-hex commit"
        assert re.fullmatch(r"# v\d+\.\d+\.\d+", comment.strip()), f"{file}: {ref} {comment!r}"


def test_one_action_one_sha_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for _, ref, comment in uses_lines():
        if not ref.startswith("./"):
            action, sha = ref.split("@")
            pins.setdefault(action, set()).add(f"{sha} {comment.strip()}")
    assert {a: len(p) for a, p in pins.items()} == dict.fromkeys(pins, 1)


# -- permissions -----------------------------------------------------------------------------


def test_workflow_defaults_grant_nothing_beyond_reading_the_code() -> None:
    for name, path in WORKFLOWS.items():
        assert load(path)["permissions"] in ({}, {"contents": "read"}), name


def test_every_job_declares_its_own_minimal_permissions() -> None:
    allowed = {
        "contents": {"read"},
        "id-token": {"write"},
        "pull-requests": {"write"},
        "deployments": {"read"},
    }
    for name, job_id, job in jobs():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name}.{job_id} has no explicit permissions"
        for scope, level in permissions.items():
            assert level in allowed.get(scope, set()), f"{name}.{job_id}: {scope}: {level}"


def test_id_token_write_only_where_a_cloud_identity_is_used() -> None:
    with_token = {f"{n}.{j}" for n, j, job in jobs() if grants_id_token(job)}
    assert with_token == {
        "preview.preview",
        "pulumi-up.up",
        *(f"{workflow}.{stack}" for workflow in ("deploy", "rotate") for stack in STACKS),
        "vault-structure.structure",
    }
    for name, job_id, job in jobs():
        uses_identity = job.get("uses") == UP_WORKFLOW or any(
            PULUMI_RUN in s.get("run", "") for s in steps(job)
        )
        assert uses_identity == grants_id_token(job), f"{name}.{job_id}"


def test_pull_request_comments_only_where_needed() -> None:
    for name, job_id, job in jobs():
        permissions = job["permissions"]
        assert "deployments" not in permissions, f"{name}.{job_id}"
        if "pull-requests" in permissions:
            assert f"{name}.{job_id}" == "preview.preview"


def test_identities_live_in_the_one_step_that_runs_pulumi() -> None:
    """No workflow step or action hands an identity to later steps ($GITHUB_ENV) or outputs.
    What scripts/ci/ itself does with them is executed in tests/scripts/ci/."""
    for where, script in run_scripts():
        assert "GITHUB_ENV" not in script, where
        assert "GITHUB_OUTPUT" not in script, where
    for path in [*WORKFLOWS.values(), *ACTIONS]:
        text = path.read_text()
        for action in ("aws-actions/configure-aws-credentials", "hashicorp/vault-action"):
            assert action not in text, (path.name, action)
        assert "exportToken" not in text, path.name


# -- pull requests ---------------------------------------------------------------------------


def test_no_workflow_runs_fork_code_with_repository_privileges() -> None:
    for name, path in WORKFLOWS.items():
        assert "pull_request_target" not in triggers(load(path)), name
        assert "workflow_run" not in triggers(load(path)), name


def test_ci_runs_on_every_pull_request_without_secrets_or_identity() -> None:
    ci = load(WORKFLOWS["ci"])
    assert "pull_request" in triggers(ci)
    assert ci["permissions"] == {"contents": "read"}
    assert "secrets." not in WORKFLOWS["ci"].read_text()
    for job_id, job in ci["jobs"].items():
        assert job["permissions"] == {"contents": "read"}, job_id


def test_ci_runs_checks_plans_policy_snapshots_and_report_for_every_stack() -> None:
    ci = load(WORKFLOWS["ci"])
    assert sorted(ci["jobs"]["plan"]["strategy"]["matrix"]["stack"]) == COMMITTED_STACKS
    scripts = "\n".join(s.get("run", "") for job in ci["jobs"].values() for s in steps(job))
    for command in (
        "bash scripts/check",
        '.venv/bin/python -m infra.plan --stack "$STACK" --json "plan-$STACK.json"',
        '.venv/bin/python -m policy.check --config "policy/$STACK.json" "plan-$STACK.json"',
        '.venv/bin/python -m infra.plan --stack "$STACK" --report "access-$STACK.md"',
        'cat "access-$STACK.md" >> "$GITHUB_STEP_SUMMARY"',
        ".venv/bin/python -m infra.snapshot --check",
    ):
        assert command in scripts, command


def pulumi_step(job: dict[str, Any]) -> dict[str, Any]:
    """The step that runs `pulumi up` or `pulumi preview` through scripts/ci/pulumi-run."""
    commands = (f"{PULUMI_RUN} up ", f"{PULUMI_RUN} preview ")
    return next(s for s in steps(job) if any(c in s.get("run", "") for c in commands))


def test_preview_runs_only_for_branches_of_this_repository_behind_reviewers() -> None:
    preview = load(WORKFLOWS["preview"])
    assert set(triggers(preview)) == {"pull_request"}
    job = preview["jobs"]["preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert sorted(i["stack"] for i in job["strategy"]["matrix"]["include"]) == COMMITTED_STACKS
    # The preview role trusts exactly `<stack>-preview` (required reviewers) and this workflow.
    assert job["environment"] == "${{ matrix.stack }}-preview"
    step = pulumi_step(job)
    assert '--policy-pack policy --policy-pack-config "policy/$STACK.json" --diff' in step["run"]
    # The comment posts pulumi's output only, never the step's (tests/scripts/ci/ runs both).
    assert step["env"]["PULUMI_OUTPUT"] == "preview.txt"
    scripts = "\n".join(s.get("run", "") for s in steps(job))
    assert 'bash scripts/ci/pr-comment "$STACK" preview.txt "$OUTCOME"' in scripts
    assert step["env"]["VAULT_ROLE"] == "ci-preview"
    assert step["env"]["ROLE_ARN"] == "${{ matrix.role }}"
    assert step["env"]["CREDENTIALS_PREFIX"].endswith("/preview")


# -- pulumi up -------------------------------------------------------------------------------


def up_callers() -> list[tuple[str, str, dict[str, Any]]]:
    return [(n, j, job) for n, j, job in jobs() if job.get("uses") == UP_WORKFLOW]


def test_every_up_is_serialized_per_stack_and_never_cancelled() -> None:
    up = load(WORKFLOWS["pulumi-up"])
    job = up["jobs"]["up"]
    assert job["concurrency"] == {
        "group": "pulumi-up-${{ inputs.stack }}",
        "cancel-in-progress": False,
    }
    # A timeout would kill a running up as surely as a cancellation.
    assert "timeout-minutes" not in job
    for name in ("deploy", "rotate", "pulumi-up"):
        assert "concurrency" not in load(WORKFLOWS[name]), name
    for name, job_id, caller in up_callers():
        assert "concurrency" not in caller, f"{name}.{job_id}"
    # No other group may cancel into an up's group.
    for name, job_id, other in jobs():
        group = (other.get("concurrency") or {}).get("group", "")
        if (other.get("concurrency") or {}).get("cancel-in-progress"):
            assert not group.startswith("pulumi-up-"), f"{name}.{job_id}"


def test_up_refreshes_enforces_the_policy_pack_and_records_the_run() -> None:
    job = load(WORKFLOWS["pulumi-up"])["jobs"]["up"]
    assert job["environment"] == "${{ inputs.environment }}"
    step = pulumi_step(job)
    script = step["run"].replace("\\\n", " ")
    assert re.search(
        r'bash scripts/ci/pulumi-run up --stack "\$STACK" --refresh --yes --policy-pack policy --policy-pack-config "policy/\$STACK.json"',
        script,
    )
    assert "--message" in script
    # The Vault structure is excluded: CI's token may not write it.
    assert '"${excludes[@]}"' in script
    assert 'bash scripts/ci/vault-structure-urns "$STACK" state.json' in script
    assert step["env"]["ROLE_ARN"] == "${{ vars.DEPLOY_ROLE_ARN }}"
    assert step["env"]["VAULT_ROLE"] == "ci-deploy-${{ inputs.environment }}"
    assert step["env"]["APPROVED_SHA_MODE"] == "${{ inputs.approval }}"


def test_merge_deploys_dev_then_prod_behind_the_protected_environment() -> None:
    deploy = load(WORKFLOWS["deploy"])
    assert triggers(deploy)["push"] == {"branches": ["main"]}
    dev, prod = deploy["jobs"]["dev"], deploy["jobs"]["prod"]
    assert dev["with"]["stack"] == dev["with"]["environment"] == "dev"
    assert "needs" not in dev
    assert prod["needs"] == "dev"
    assert prod["with"]["stack"] == prod["with"]["environment"] == "prod"
    assert prod["with"]["approval"] == "record"
    assert "approval" not in dev["with"]


def test_nightly_rotation_deploys_only_the_commit_prod_approved() -> None:
    rotate = load(WORKFLOWS["rotate"])
    assert [s["cron"] for s in triggers(rotate)["schedule"]] == ["17 3 * * *"]
    assert set(rotate["jobs"]) == set(STACKS)
    dev, prod = rotate["jobs"]["dev"], rotate["jobs"]["prod"]
    assert dev["with"] == {"stack": "dev", "environment": "dev", "reason": "rotate"}
    assert prod["needs"] == "dev"
    assert prod["with"] == {
        "stack": "prod",
        "environment": "prod-rotation",
        "approval": "deploy",
        "reason": "rotate",
    }
    # That the job then deploys exactly the recorded commit is executed in tests/scripts/ci/.


def test_vault_structure_is_applied_by_hand_behind_its_own_environment() -> None:
    structure = load(WORKFLOWS["vault-structure"])
    assert set(triggers(structure)) == {"workflow_dispatch"}
    job = structure["jobs"]["structure"]
    assert job["environment"] == "${{ inputs.stack }}-vault-structure"
    assert job["concurrency"] == {
        "group": "pulumi-up-${{ inputs.stack }}",
        "cancel-in-progress": False,
    }
    step = pulumi_step(job)
    assert step["env"]["VAULT_ROLE"] == "ci-structure"
    assert '"${targets[@]}"' in step["run"]
    options = triggers(structure)["workflow_dispatch"]["inputs"]["stack"]["options"]
    assert sorted(options) == COMMITTED_STACKS


def test_every_committed_stack_is_deployed_and_rotated() -> None:
    for name in ("deploy", "rotate"):
        stacks = sorted(c["with"]["stack"] for n, _, c in up_callers() if n == name)
        assert stacks == COMMITTED_STACKS, name


# -- hygiene ---------------------------------------------------------------------------------


def test_no_repository_secrets_are_used() -> None:
    for path in [*WORKFLOWS.values(), *ACTIONS]:
        assert "secrets." not in path.read_text(), path.name


def test_no_expression_is_interpolated_into_a_shell_script() -> None:
    """Values reach scripts through `env:` only (no script injection from PR titles, refs...)."""
    for where, script in run_scripts():
        assert "${{" not in script, where


def test_every_checkout_drops_the_token_and_every_script_exists() -> None:
    for name, job_id, job in jobs():
        for step in steps(job):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{name}.{job_id}"
    for _, script in run_scripts():
        for found in re.findall(r"bash (scripts/[\w/.-]+)", script):
            assert (ROOT / found).is_file(), found


# -- the names the bootstrap trusts are the names the workflows use ----------------------------


def bootstrap_config(stack: str) -> dict[str, Any]:
    document = load(ROOT / "bootstrap" / f"Pulumi.{stack}.yaml")
    return {k.split(":", 1)[1]: v for k, v in document["config"].items()}


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_up_environments_are_exactly_those_the_deploy_role_trusts(stack: str) -> None:
    used = {c["with"]["environment"] for _, _, c in up_callers() if c["with"]["stack"] == stack}
    config = bootstrap_config(stack)
    assert config["environment"] == stack
    assert set(config["githubEnvironments"]) == used


def test_credential_prefixes_match_the_bootstrap_default() -> None:
    up = load(WORKFLOWS["pulumi-up"])["jobs"]["up"]
    assert pulumi_step(up)["env"]["CREDENTIALS_PREFIX"] == (
        "ci/airflow-atlas-identity/${{ inputs.stack }}/deploy"
    )
