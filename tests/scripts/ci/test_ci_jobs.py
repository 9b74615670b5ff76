"""The CI jobs executed as GitHub runs them (tests/scripts/ci/github_actions.py), against a local
GitHub OIDC issuer, moto and OpenBao, with the real `aws`, `curl`, `jq`, `git` and `bash`; only
`pulumi` is a stand-in. Each job must get exactly its identity, leave no secret readable in its
log or in a file a later step reads, deploy prod only from the approved commit, and stop before
any write when that approval is missing or not a commit of the branch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.scripts.ci.conftest import World
from tests.scripts.ci.deployed import deploy_state
from tests.scripts.ci.jobs import (
    JobRun,
    looks_like_jwt,
    pull_request_run,
    push_run,
    run_job,
    trust_admits,
)

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
UP_STEP = "pulumi up --refresh (the refresh lets time-based rotations notice they expired)"
VERIFY_STEP = "Verify the deployment (connection definitions, canary pipelines)"
PREVIEW_STEP = "pulumi preview with the policy pack"


@pytest.fixture(scope="module")
def deployed(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("plans")
    return {stack: deploy_state(world, stack, directory) for stack in ("dev", "prod")}


@pytest.fixture(scope="module")
def dev_deploy(world: World, deployed: Any, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    return run_job(world, tmp_path_factory.mktemp("dev"), "deploy.yml", "dev", run=push_run(world))


@pytest.fixture(scope="module")
def prod_deploy(world: World, deployed: Any, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    return run_job(
        world, tmp_path_factory.mktemp("prod"), "deploy.yml", "prod", run=push_run(world)
    )


@pytest.fixture(scope="module")
def prod_rotation(
    world: World, deployed: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JobRun]:
    with approval(world, world.approved_sha):
        yield run_job(
            world,
            tmp_path_factory.mktemp("rotation"),
            "rotate.yml",
            "prod",
            run=push_run(world, event="schedule"),
        )


@pytest.fixture(scope="module")
def prod_preview(world: World, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    return run_job(
        world,
        tmp_path_factory.mktemp("preview"),
        "preview.yml",
        "preview",
        run=pull_request_run(world),
        matrix={"stack": "prod"},
        steps=[PREVIEW_STEP],
    )


class approval:
    """The prod account's approved-commit record set to `value` (None: absent) meanwhile."""

    def __init__(self, world: World, value: str | None) -> None:
        self.ssm = world.admin("prod", "ssm")
        self.name = world.accounts["prod"].outputs["approvedShaParameter"]
        self.value = value

    def __enter__(self) -> None:
        if self.value is None:
            self._delete()
        else:
            self.ssm.put_parameter(Name=self.name, Value=self.value, Type="String", Overwrite=True)

    def __exit__(self, *exc: object) -> None:
        self._delete()

    def _delete(self) -> None:
        with contextlib.suppress(self.ssm.exceptions.ParameterNotFound):
            self.ssm.delete_parameter(Name=self.name)


def bootstrap_role(world: World, account: str, purpose: str) -> Any:
    return world.accounts[account].role(purpose).inputs


def vault_role(world: World, account: str, name: str) -> dict[str, Any]:
    roles = world.accounts[account].bootstrap.monitor.by_type(
        "vault:jwt/authBackendRole:AuthBackendRole"
    )
    return next(r.inputs for r in roles if r.inputs["roleName"] == name)


def vault_policy_names(world: World, account: str, role: str) -> list[str]:
    """The policy names a `ci-*` role's tokens carry, from the bootstrap's plan."""
    planned = {
        p.urn: p.inputs["name"]
        for p in world.accounts[account].bootstrap.monitor.by_type("vault:index/policy:Policy")
    }
    names = vault_role(world, account, role)["tokenPolicies"]
    return sorted({planned.get(n, n) for n in names} | {"default"})


# -- each job gets exactly its identity -------------------------------------------------------


def assert_identity(world: World, job: JobRun, *, account: str, role: str, vault: str) -> None:
    expected = world.accounts[account].outputs[f"{role}RoleArn"]
    assumptions = job.calls("AssumeRoleWithWebIdentity")
    assert assumptions, "no AssumeRoleWithWebIdentity reached STS"
    issued = {t.jwt: t for t in world.issuer.issued}
    for call in assumptions:
        assert call["RoleArn"] == expected
        token = call["WebIdentityToken"]
        # The bare JWT the issuer minted for STS: signed by it, nothing around it.
        assert looks_like_jwt(token), token[:40]
        assert token in issued, "STS received a token the issuer never minted"
        claims = world.issuer.verify(token)
        assert claims["aud"] == "sts.amazonaws.com"
        trust = bootstrap_role(world, account, role)["assumeRolePolicy"]
        assert trust_admits(trust, GITHUB_OIDC_HOST, claims), claims["sub"]
        other = "preview" if role == "deploy" else "deploy"
        for name in world.accounts:
            other_trust = bootstrap_role(world, name, other)["assumeRolePolicy"]
            assert not trust_admits(other_trust, GITHUB_OIDC_HOST, claims), (name, other)
    pulumi = [c for c in job.pulumi_calls if c["argv"][:1] != ["login"]]
    assert pulumi, "pulumi never ran"
    session = f"assumed-role/{expected.split('/')[-1]}/gha-{push_run(world).run_id}-1"
    for call in pulumi:
        assert call["aws_caller"].endswith(session), call["aws_caller"]
        assert call["vault"]["policies"] == vault_policy_names(world, account, vault)
        assert call["vault"]["meta"]["role"] == vault


def test_dev_deploy_holds_the_dev_deploy_role_and_vault_role(
    world: World, dev_deploy: JobRun
) -> None:
    assert [s.outcome for s in dev_deploy.steps if s.exit_code is not None] == [
        "success",
        "success",
    ], dev_deploy.log[-20:]
    assert_identity(world, dev_deploy, account="dev", role="deploy", vault="ci-deploy-dev")
    commands = dev_deploy.pulumi_commands()
    assert [c[:2] for c in commands] == [
        ["stack", "export"],
        ["up", "--stack"],
        ["stack", "output"],
    ]


def test_prod_deploy_holds_the_prod_identity_and_records_its_commit(
    world: World, prod_deploy: JobRun
) -> None:
    assert prod_deploy.step(UP_STEP).outcome == "success", prod_deploy.log[-20:]
    assert_identity(world, prod_deploy, account="prod", role="deploy", vault="ci-deploy-prod")
    (put,) = prod_deploy.calls("PutParameter")
    assert put["Name"] == world.accounts["prod"].outputs["approvedShaParameter"]
    assert put["Value"] == world.unapproved_sha
    up = next(c for c in prod_deploy.pulumi_calls if c["argv"][:1] == ["up"])
    assert up["head"] == world.unapproved_sha


def test_prod_preview_holds_the_preview_role_and_writes_nothing(
    world: World, prod_preview: JobRun
) -> None:
    assert prod_preview.step(PREVIEW_STEP).outcome == "success", prod_preview.log[-20:]
    assert_identity(world, prod_preview, account="prod", role="preview", vault="ci-preview")
    writes = [c["action"] for c in prod_preview.aws_calls if not c["action"].startswith("Get")]
    assert writes == ["AssumeRoleWithWebIdentity"]


# -- no secret is readable ---------------------------------------------------------------------


def job_secrets(world: World, job: JobRun) -> list[str]:
    """Every secret the job held: its OIDC tokens and request token, and what pulumi got."""
    values = [t.jwt for t in world.issuer.issued if t.claims["sha"] == world.unapproved_sha]
    values += list(job.runner.masker.values)
    values += job.secrets_seen
    pieces = {p.strip() for v in values for p in v.splitlines() if len(p.strip()) >= 8}
    return sorted(pieces)


@pytest.mark.parametrize("job_name", ["dev_deploy", "prod_deploy", "prod_rotation", "prod_preview"])
def test_no_secret_is_readable_in_the_log_or_a_file_a_later_step_reads(
    world: World, job_name: str, request: pytest.FixtureRequest
) -> None:
    job: JobRun = request.getfixturevalue(job_name)
    secrets = job_secrets(world, job)
    assert len(job.secrets_seen) >= 5, "pulumi got fewer identities than expected"
    # Masked before any use: every secret pulumi received was registered as a mask first.
    lines = {line.strip() for s in job.secrets_seen for line in s.splitlines() if line.strip()}
    unmasked = [line[:12] for line in lines if line not in job.runner.masker.values]
    assert unmasked == [], "secrets never registered with ::add-mask::"
    log = "\n".join(job.log)
    leaked = [s[:12] for s in secrets if s in log]
    assert leaked == []
    for step in job.steps:
        assert step.env == {}, step.name
        assert step.outputs == {}, step.name
    for name, text in job.files.items():
        assert [s[:12] for s in secrets if s in text] == [], name
        assert "::add-mask::" not in text, name


def test_the_preview_comment_file_holds_pulumis_output_only(prod_preview: JobRun) -> None:
    text = prod_preview.files["preview.txt"]
    assert text.startswith("preview of prod (stand-in)")
    assert "::" not in text


# -- prod deploys only what its reviewers approved ---------------------------------------------


def test_nightly_prod_rotation_deploys_exactly_the_approved_commit(
    world: World, prod_rotation: JobRun
) -> None:
    assert prod_rotation.step(UP_STEP).outcome == "success", prod_rotation.log[-20:]
    assert prod_rotation.step(VERIFY_STEP).outcome == "success", prod_rotation.log[-20:]
    heads = {c["head"] for c in prod_rotation.pulumi_calls}
    assert heads == {world.approved_sha}
    assert any(c["argv"][:1] == ["up"] for c in prod_rotation.pulumi_calls)
    assert prod_rotation.calls("PutParameter") == []
    assert f"deploying {world.approved_sha}, the commit prod last approved" in prod_rotation.log


@pytest.mark.parametrize(
    ("record", "cause"),
    [
        (None, "no approved commit recorded"),
        ("main", "holds no commit id"),
        ("0123456789abcdef0123456789abcdef01234567", "is not in the history of"),
    ],
)
def test_a_missing_or_invalid_approval_stops_before_any_write(
    world: World, tmp_path: Path, record: str | None, cause: str
) -> None:
    with approval(world, record):
        job = run_job(
            world,
            tmp_path,
            "rotate.yml",
            "prod",
            run=push_run(world, event="schedule"),
            steps=[UP_STEP],
        )
    (step,) = job.steps
    assert step.outcome == "failure"
    assert any(cause in line for line in step.log), step.log[-5:]
    assert job.pulumi_calls == []
    assert job.calls("PutParameter") == []


# -- the deploy verification step --------------------------------------------------------------


def test_verify_deploy_passes_on_what_the_up_deployed(
    dev_deploy: JobRun, prod_deploy: JobRun
) -> None:
    for job, stack in ((dev_deploy, "dev"), (prod_deploy, "prod")):
        step = job.step(VERIFY_STEP)
        assert step.outcome == "success", step.log[-20:]
        assert f"verify-deploy: {stack} passed every check" in step.log


def rerun_verify(world: World, directory: Path, stack: str, **inputs: str) -> list[str]:
    job = run_job(world, directory, "deploy.yml", stack, run=push_run(world), steps=[])
    contexts = dict(job.job.contexts) | {"inputs": dict(job.job.contexts["inputs"]) | inputs}
    job.runner.job = dataclasses.replace(job.job, contexts=contexts)
    result = job.runner.run_step(job.job.step(VERIFY_STEP))
    assert result.outcome == "failure", result.log[-10:]
    return [line for line in result.log if "FAILED" in line]


def test_verify_deploy_names_a_missing_connection_definition(
    world: World, deployed: Any, tmp_path: Path
) -> None:
    manager = world.admin("dev", "secretsmanager")
    name = "airflow/dev/connections/mongo_orders_ingest"
    value = manager.get_secret_value(SecretId=name)["SecretString"]
    manager.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    try:
        failed = rerun_verify(world, tmp_path, "dev")
    finally:
        manager.create_secret(Name=name, SecretString=value)
    assert failed == [
        "verify-deploy: FAILED connection-definition mongo_orders_ingest: "
        "not readable from SecretsManagerBackend"
    ]


def test_verify_deploy_names_a_changed_connection_definition(
    world: World, deployed: Any, tmp_path: Path
) -> None:
    vault = world.accounts["prod"].vault.client()
    kwargs = json.loads(
        deployed["prod"]["outputs"]["airflowConfigurationOptions"]["secrets.backend_kwargs"]
    )
    path = f"{kwargs['connections_path']}/mongo_partner_feed"
    original = deployed["prod"]["outputs"]["connectionDefinitions"]["mongo_partner_feed"]
    changed = original | {"host": "elsewhere.example.net"}
    vault.secrets.kv.v2.create_or_update_secret(
        mount_point=kwargs["mount_point"], path=path, secret=changed
    )
    try:
        failed = rerun_verify(world, tmp_path, "prod")
    finally:
        vault.secrets.kv.v2.create_or_update_secret(
            mount_point=kwargs["mount_point"], path=path, secret=original
        )
    assert failed == [
        "verify-deploy: FAILED connection-definition mongo_partner_feed: "
        "VaultBackend holds a definition other than the stack's"
    ]


def test_verify_deploy_names_a_canary_that_is_not_deployed(
    world: World, deployed: Any, tmp_path: Path
) -> None:
    failed = rerun_verify(world, tmp_path, "dev", canary="orders-ingest ghost-pipeline")
    assert len(failed) == 1
    assert failed[0].startswith(
        "verify-deploy: FAILED canary ghost-pipeline: not a pipeline of this stack"
    )
