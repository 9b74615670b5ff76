"""The execution role's policy names pipeline roles and connection definitions by prefix and tag,
so its size does not grow with pipelines (docs/auth-modes.md, AWS row); this proves it reaches exactly the
resources the per-ARN policy reached, on the plan of a 300-pipeline stack.

Decided by Principal Mapper's local IAM simulation (tests/iam_eval.py). It evaluates the
conditions these policies use against the request context the test gives it: `StringEquals`,
`Null` and `ForAllValues:` operators, with keys matched case-insensitively
(principalmapper/querying/local_policy_simulation.py, `_get_condition_match`); a key missing
from the context fails `StringEquals` and satisfies `Null: true`, as in AWS. moto's evaluator is
not used here: it skips a condition whose key the request does not carry
(tests/delivery/attacks/test_iam.py), which would let an untagged role through. The context holds
what AWS puts there for these calls: the target's tags as `aws:ResourceTag/<key>` (the STS `role`
and Secrets Manager `Secret` resource types carry it, Service Authorization Reference), and for
AssumeRole the request's `sts:SourceIdentity` and `aws:RequestTag/<key>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bootstrap.permissions import AccountScope, workload_boundary
from devtools import plan as offline_plan
from model.naming import Naming
from tests.conftest import PROJECT
from tests.iam_eval import allowed, principal
from tests.paths import ROOT

ACCOUNT = "210987654321"
REGION = "eu-west-1"
BOUNDARY = workload_boundary(
    AccountScope(
        account_id=ACCOUNT,
        region=REGION,
        naming=Naming(prefix="aai", stack="estate"),
        managed_secret_prefixes=(),
    )
)
MODES = ("aws-iam", "okta-oidc", "vault-dynamic")
ASSUME = ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity")
RUN = {
    "sts:SourceIdentity": "orders",
    "aws:RequestTag/dag_id": "orders",
    "aws:RequestTag/task_id": "load",
    "aws:RequestTag/run_id": "manual__1",
    "aws:TagKeys": ["dag_id", "task_id", "run_id"],
}


def estate(tmp_path: Path, pipelines: int) -> dict[str, Any]:
    """The plan of the dev stack (Secrets Manager definitions) as stack `estate`, with
    `pipelines` pipelines of every auth mode in one Atlas project raised to hold them."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config[f"{PROJECT}:pipelines"] = [
        {
            "name": f"p-{index:03d}",
            "authMode": MODES[index % len(MODES)],
            "grants": [{"database": "sales", "collections": ["orders"], "access": "read"}],
        }
        for index in range(pipelines)
    ]
    project = config[f"{PROJECT}:atlasProjectId"]
    config[f"{PROJECT}:atlasProjectLimits"] = {project: {"databaseUsers": 400, "customRoles": 400}}
    path = tmp_path / f"Pulumi.estate{pipelines}.yaml"
    path.write_text(yaml.safe_dump(document))
    return offline_plan.plan(offline_plan.read_stack_file(path, stack="estate"))


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("estates")
    return {n: estate(tmp, n) for n in (40, 300)}


def of_type(plan: dict[str, Any], type_token: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_token]


def document(value: Any) -> dict[str, Any]:
    loaded = value["__json__"] if isinstance(value, dict) else json.loads(value)
    assert isinstance(loaded, dict)
    return loaded


def execution_policy(plan: dict[str, Any]) -> str:
    [policy] = [
        r["inputs"]["policy"]
        for r in of_type(plan, "aws:iam/rolePolicy:RolePolicy")
        if r["inputs"]["role"] == "aai-estate-mwaa-exec"
    ]
    return json.dumps(document(policy))


def execution_role(plan: dict[str, Any]) -> Any:
    """The execution role with its planned policy and the bootstrap's boundary."""
    node = principal(
        f"arn:aws:iam::{ACCOUNT}:role/aai-estate-mwaa-exec", json.loads(execution_policy(plan))
    )
    node.permissions_boundary = BOUNDARY
    return node


def test_300_pipelines_have_the_40_pipeline_execution_policy(
    plans: dict[int, dict[str, Any]],
) -> None:
    """Not only the same length: the same document."""
    small, large = execution_policy(plans[40]), execution_policy(plans[300])
    assert len(of_type(plans[300], "aws:iam/role:Role")) == 301
    assert len(large) == len(small)
    assert large == small


def test_every_planned_role_carries_the_workload_boundary(plans: dict[int, dict[str, Any]]) -> None:
    boundaries = {
        r["inputs"]["permissionsBoundary"] for r in of_type(plans[300], "aws:iam/role:Role")
    }
    assert boundaries == {f"arn:aws:iam::{ACCOUNT}:policy/aai-estate-workload-boundary"}


def tags_context(tags: dict[str, str]) -> dict[str, Any]:
    return {f"aws:ResourceTag/{k}": v for k, v in tags.items()}


def test_execution_role_assumes_every_pipeline_role_of_the_stack(
    plans: dict[int, dict[str, Any]],
) -> None:
    plan = plans[300]
    node = execution_role(plan)
    roles = [
        r["inputs"]
        for r in of_type(plan, "aws:iam/role:Role")
        if r["inputs"]["name"] != "aai-estate-mwaa-exec"
    ]
    assert len(roles) == 300
    for role in roles:
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role['name']}"
        context = {**tags_context(role["tags"]), **RUN}
        for action in ASSUME:
            assert allowed_by_identity(node, action, arn, context), (action, arn)


def allowed_by_identity(node: Any, action: str, resource: str, context: dict[str, Any]) -> bool:
    """The caller's side only (its policy under its boundary); the trust policy is tested below."""
    from principalmapper.querying.query_interface import local_check_authorization_full

    return bool(local_check_authorization_full(node, action, resource, context))


@pytest.mark.parametrize(
    ("role_name", "tags"),
    [
        # Same prefix, another stack's tag (e.g. a stack named `estate-pipeline-x`).
        ("aai-estate-pipeline-x-pipeline-a", {"stack": "estate-pipeline-x", "pipeline": "a"}),
        # Same prefix and stack tag, but not a pipeline role.
        ("aai-estate-pipeline-admin", {"stack": "estate"}),
        # Same prefix, untagged.
        ("aai-estate-pipeline-p-001", {}),
        # This stack's tags on a role outside the prefix.
        ("aai-estate-github-deploy", {"stack": "estate", "pipeline": "p-001"}),
        ("aai-estate-mwaa-exec", {"stack": "estate", "pipeline": "p-001"}),
        ("aai-prod-pipeline-p-001", {"stack": "prod", "pipeline": "p-001"}),
    ],
)
def test_execution_role_assumes_nothing_else(
    plans: dict[int, dict[str, Any]], role_name: str, tags: dict[str, str]
) -> None:
    node = execution_role(plans[300])
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
    for action in ASSUME:
        assert not allowed_by_identity(node, action, arn, {**tags_context(tags), **RUN})


def test_execution_role_reads_every_connection_definition_of_the_stack(
    plans: dict[int, dict[str, Any]],
) -> None:
    plan = plans[300]
    node = execution_role(plan)
    secrets = [r["inputs"] for r in of_type(plan, "aws:secretsmanager/secret:Secret")]
    assert len(secrets) == 300
    for secret in secrets:
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret['name']}-AbC123"
        context = tags_context(secret["tags"])
        assert allowed_by_identity(node, "secretsmanager:GetSecretValue", arn, context), arn


@pytest.mark.parametrize(
    ("name", "tags"),
    [
        ("airflow/estate/connections/mongo_p_001", {"stack": "prod", "pipeline": "p-001"}),
        ("airflow/estate/connections/mongo_p_001", {}),
        ("airflow/estate/connections/aws_default", {"stack": "estate"}),
        ("airflow/prod/connections/mongo_p_001", {"stack": "estate", "pipeline": "p-001"}),
        ("airflow/estate/variables/token", {"stack": "estate", "pipeline": "p-001"}),
    ],
)
def test_execution_role_reads_no_other_secret(
    plans: dict[int, dict[str, Any]], name: str, tags: dict[str, str]
) -> None:
    node = execution_role(plans[300])
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbC123"
    assert not allowed_by_identity(node, "secretsmanager:GetSecretValue", arn, tags_context(tags))


def pipeline_role(plan: dict[str, Any], name: str) -> dict[str, Any]:
    [role] = [
        r["inputs"] for r in of_type(plan, "aws:iam/role:Role") if r["inputs"]["name"] == name
    ]
    return dict(role)


def test_trust_policy_admits_the_execution_role_with_a_source_identity_and_run_tags(
    plans: dict[int, dict[str, Any]],
) -> None:
    role = pipeline_role(plans[40], "aai-estate-pipeline-p-007")
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role['name']}"
    trust = document(role["assumeRolePolicy"])
    node = execution_role(plans[40])
    for action in ASSUME:
        assert allowed(node, action, arn, trust, ACCOUNT, dict(RUN)), action


@pytest.mark.parametrize(
    "missing",
    [
        "sts:SourceIdentity",
        "aws:RequestTag/dag_id",
        "aws:RequestTag/task_id",
        "aws:RequestTag/run_id",
    ],
)
def test_trust_policy_refuses_an_assume_role_without_attribution(
    plans: dict[int, dict[str, Any]], missing: str
) -> None:
    role = pipeline_role(plans[40], "aai-estate-pipeline-p-007")
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role['name']}"
    trust = document(role["assumeRolePolicy"])
    context = {k: v for k, v in RUN.items() if k != missing}
    assert not allowed(execution_role(plans[40]), "sts:AssumeRole", arn, trust, ACCOUNT, context)


def test_trust_policy_keeps_its_exact_principal(plans: dict[int, dict[str, Any]]) -> None:
    role = pipeline_role(plans[40], "aai-estate-pipeline-p-007")
    trust = document(role["assumeRolePolicy"])
    principals = {s["Principal"]["AWS"] for s in trust["Statement"]}
    assert principals == {f"arn:aws:iam::{ACCOUNT}:role/aai-estate-mwaa-exec"}
    other = principal(
        f"arn:aws:iam::{ACCOUNT}:role/aai-estate-pipeline-p-008",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        },
    )
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role['name']}"
    assert not allowed(other, "sts:AssumeRole", arn, trust, ACCOUNT, dict(RUN))


def test_why_not_moto_it_skips_conditions_on_keys_the_request_lacks(
    plans: dict[int, dict[str, Any]],
) -> None:
    """Verified, not assumed: moto 5.2.5's evaluator permits an untagged same-prefix role under
    this policy (the tag condition is skipped), and ignores `Null` altogether; Principal Mapper
    refuses both, as AWS does."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    policy = execution_policy(plans[40])
    untagged = f"arn:aws:iam::{ACCOUNT}:role/aai-estate-pipeline-p-001"
    assert IAMPolicy(policy).is_action_permitted("sts:AssumeRole", untagged) is (
        PermissionResult.PERMITTED
    )
    no_pipeline_tag = {"aws:ResourceTag/stack": "estate"}
    assert IAMPolicy(policy).is_action_permitted(
        "sts:AssumeRole", untagged, incoming_condition_values=no_pipeline_tag
    ) is (PermissionResult.PERMITTED)
    node = execution_role(plans[40])
    assert not allowed_by_identity(node, "sts:AssumeRole", untagged, {})
    assert not allowed_by_identity(node, "sts:AssumeRole", untagged, dict(no_pipeline_tag))
