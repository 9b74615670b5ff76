"""AwsIdentity: exact roles, trust policies and the execution role's least-privilege policy."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components.aws.identity import AwsIdentity, AwsIdentityArgs, PipelineRoleSpec
from devtools.offline import ProgramRun

ROLE = "aws:iam/role:Role"
COMPONENT_URN = (
    "urn:pulumi:test::airflow-atlas-identity::airflow-atlas-identity:aws:AwsIdentity::ids"
)

BOUNDARY = "arn:aws:iam::123456789012:policy/aai-test-workload-boundary"
ARGS = AwsIdentityArgs(
    stack="test",
    account_id="123456789012",
    region="eu-west-1",
    mwaa_environment_name="analytics-test",
    source_bucket_arn="arn:aws:s3:::acme-dags",
    execution_role_name="aai-test-mwaa-exec",
    pipeline_role_prefix="aai-test-pipeline-",
    pipeline_roles=(
        PipelineRoleSpec(pipeline="orders-ingest", role_name="aai-test-pipeline-orders-ingest"),
        PipelineRoleSpec(pipeline="revenue-report", role_name="aai-test-pipeline-revenue-report"),
    ),
    pipeline_session_seconds=900,
    connections_prefix="airflow/test/connections",
    permissions_boundary_arn=BOUNDARY,
)
EXEC_ARN = "arn:aws:iam::123456789012:role/aai-test-mwaa-exec"
RUN_TAGS_PRESENT = {
    "aws:RequestTag/dag_id": "false",
    "aws:RequestTag/task_id": "false",
    "aws:RequestTag/run_id": "false",
}


@pytest.fixture
def run(run_component: Any) -> ProgramRun:
    return run_component(lambda: AwsIdentity("ids", ARGS))  # type: ignore[no-any-return]


def test_component_registers_exactly_its_children(run: ProgramRun) -> None:
    assert sorted((r.type, r.name) for r in run.monitor.registrations) == [
        ("airflow-atlas-identity:aws:AwsIdentity", "ids"),
        (ROLE, "ids-execution-role"),
        (ROLE, "ids-orders-ingest-role"),
        (ROLE, "ids-revenue-report-role"),
        ("aws:iam/rolePolicy:RolePolicy", "ids-execution-policy"),
    ]
    for child in run.monitor.registrations[1:]:
        assert child.parent == COMPONENT_URN, child.name


def test_execution_role_trusts_only_mwaa_for_this_environment(run: ProgramRun) -> None:
    role = run.monitor.one(ROLE, "ids-execution-role")
    assert role.inputs["name"] == "aai-test-mwaa-exec"
    assert role.inputs["maxSessionDuration"] == 3600
    assert role.inputs["permissionsBoundary"] == BOUNDARY
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MwaaServiceAssumesForThisEnvironmentOnly",
                "Effect": "Allow",
                "Principal": {"Service": ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": "123456789012"},
                    "ArnLike": {
                        "aws:SourceArn": "arn:aws:airflow:eu-west-1:123456789012:environment/analytics-test"
                    },
                },
            }
        ],
    }


def test_pipeline_role_is_pathless_bounded_tagged_and_assumable_only_by_execution_role(
    run: ProgramRun,
) -> None:
    role = run.monitor.one(ROLE, "ids-orders-ingest-role")
    inputs = role.inputs
    assert inputs["name"] == "aai-test-pipeline-orders-ingest"
    assert inputs["path"] == "/"
    # IAM's floor for MaxSessionDuration is 3600; the runtime asks STS for the 900 s it needs.
    assert inputs["maxSessionDuration"] == 3600
    assert inputs["tags"] == {"stack": "test", "pipeline": "orders-ingest"}
    assert inputs["permissionsBoundary"] == BOUNDARY
    assert json.loads(inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ExecutionRoleAssumesForADagRun",
                "Effect": "Allow",
                "Principal": {"AWS": EXEC_ARN},
                "Action": "sts:AssumeRole",
                "Condition": {"Null": {"sts:SourceIdentity": "false", **RUN_TAGS_PRESENT}},
            },
            {
                "Sid": "ExecutionRoleTagsSessionWithDagRun",
                "Effect": "Allow",
                "Principal": {"AWS": EXEC_ARN},
                "Action": "sts:TagSession",
                "Condition": {
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["dag_id", "task_id", "run_id"]},
                    "Null": RUN_TAGS_PRESENT,
                },
            },
            {
                "Sid": "ExecutionRoleSetsSourceIdentity",
                "Effect": "Allow",
                "Principal": {"AWS": EXEC_ARN},
                "Action": "sts:SetSourceIdentity",
                "Condition": {"Null": {"sts:SourceIdentity": "false"}},
            },
        ],
    }
    # An identity, not a permission set: no inline or managed policies on pipeline roles.
    assert "inlinePolicies" not in inputs
    assert "managedPolicyArns" not in inputs


def statements(run: ProgramRun) -> dict[str, dict[str, Any]]:
    policy = run.monitor.one("aws:iam/rolePolicy:RolePolicy", "ids-execution-policy")
    assert policy.inputs["role"] == "aai-test-mwaa-exec"
    document = json.loads(policy.inputs["policy"])
    return {s["Sid"]: s for s in document["Statement"]}


def test_execution_policy_never_uses_wildcard_actions(run: ProgramRun) -> None:
    for sid, statement in statements(run).items():
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        for action in actions:
            assert "*" not in action, (sid, action)
        assert statement["Effect"] == "Allow"


def test_execution_policy_grants_the_stacks_connections_and_roles_by_prefix_and_tag(
    run: ProgramRun,
) -> None:
    """tests/components/aws/test_execution_policy_scope.py proves these reach exactly the planned ones."""
    by_sid = statements(run)
    this_stacks_pipelines = {
        "StringEquals": {"aws:ResourceTag/stack": "test"},
        "Null": {"aws:ResourceTag/pipeline": "false"},
    }
    assert by_sid["ReadThisStacksConnectionDefinitions"] == {
        "Sid": "ReadThisStacksConnectionDefinitions",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:airflow/test/connections/*",
        "Condition": this_stacks_pipelines,
    }
    assert by_sid["AssumeThisStacksPipelineRoles"] == {
        "Sid": "AssumeThisStacksPipelineRoles",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
        "Resource": "arn:aws:iam::123456789012:role/aai-test-pipeline-*",
        "Condition": this_stacks_pipelines,
    }
    assert "DecryptThroughSecretsManagerOnly" not in by_sid
    assert not any("ListSecrets" in json.dumps(s) for s in by_sid.values())


def test_execution_policy_scopes_mwaa_needs_to_this_environment(run: ProgramRun) -> None:
    by_sid = statements(run)
    assert sorted(by_sid) == [
        "AssumeThisStacksPipelineRoles",
        "CheckAccountPublicAccessBlock",
        "FindLogGroups",
        "PublishEnvironmentMetrics",
        "PublishMwaaMetrics",
        "ReadDagBucket",
        "ReadThisStacksConnectionDefinitions",
        "UseCeleryQueue",
        "UseQueueEncryptionThroughSqsOnly",
        "WriteEnvironmentLogs",
    ]
    assert by_sid["ReadDagBucket"]["Resource"] == [
        "arn:aws:s3:::acme-dags",
        "arn:aws:s3:::acme-dags/*",
    ]
    assert by_sid["WriteEnvironmentLogs"]["Resource"] == (
        "arn:aws:logs:eu-west-1:123456789012:log-group:airflow-analytics-test-*"
    )
    assert by_sid["PublishEnvironmentMetrics"]["Resource"] == (
        "arn:aws:airflow:eu-west-1:123456789012:environment/analytics-test"
    )
    # Statements on "*" are only for actions without resource-level permissions, and are bounded.
    star = {sid: s["Action"] for sid, s in by_sid.items() if s.get("Resource") == "*"}
    assert star == {
        "CheckAccountPublicAccessBlock": "s3:GetAccountPublicAccessBlock",
        "FindLogGroups": "logs:DescribeLogGroups",
        "PublishMwaaMetrics": "cloudwatch:PutMetricData",
    }
    assert by_sid["PublishMwaaMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "AmazonMWAA"}
    }


def test_customer_key_adds_decrypt_through_secrets_manager_only(run_component: Any) -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/4f1c2a3b-5d6e-4f70-8a9b-0c1d2e3f4a5b"
    args = AwsIdentityArgs(**{**ARGS.__dict__, "secrets_kms_key_arn": key})
    run = run_component(lambda: AwsIdentity("ids", args))
    assert statements(run)["DecryptThroughSecretsManagerOnly"] == {
        "Sid": "DecryptThroughSecretsManagerOnly",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
    }


def test_outputs_are_the_role_arns(run_component: Any) -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        component = AwsIdentity("ids", ARGS)
        pulumi.Output.all(component.execution_role_arn, component.pipeline_role_arns).apply(
            lambda values: seen.update(exec=values[0], roles=values[1])
        )

    run_component(program)
    assert seen == {
        "exec": EXEC_ARN,
        "roles": {
            "orders-ingest": "arn:aws:iam::123456789012:role/aai-test-pipeline-orders-ingest",
            "revenue-report": "arn:aws:iam::123456789012:role/aai-test-pipeline-revenue-report",
        },
    }


def test_long_sessions_raise_the_roles_maximum(run_component: Any) -> None:
    args = AwsIdentityArgs(**{**ARGS.__dict__, "pipeline_session_seconds": 7200})
    run = run_component(lambda: AwsIdentity("ids", args))
    assert run.monitor.one(ROLE, "ids-orders-ingest-role").inputs["maxSessionDuration"] == 7200
