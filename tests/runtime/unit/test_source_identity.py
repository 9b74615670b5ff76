"""SourceIdentity: within STS' rules, sent on every AssumeRole, and accepted by moto.

moto 5.2.5 reads AssumeRole's RoleArn, RoleSessionName, Policy, DurationSeconds and ExternalId
and ignores SourceIdentity and Tags (moto/sts/responses.py, `assume_role`): it accepts the call
but neither validates nor returns them. So what is sent is recorded from botocore's own request
parameters (after its validation against the STS service model), and the value rules come from
that model, not from this repository; that the pipeline role refuses a request without them is
decided by an IAM evaluator in tests/components/aws/test_execution_policy_scope.py.
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import botocore.session
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from atlas_identity.aws import AssumedRoleCredentials, RunContext, session_tags, source_identity
from atlas_identity.contract import PipelineRole

ACCOUNT = "123456789012"  # moto's default account
RUN = RunContext(dag_id="orders_daily", task_id="load", run_id="manual__2026-11-29T05:00:00+00:00")
TRUST = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    f'"Principal": {{"AWS": "arn:aws:iam::{ACCOUNT}:root"}}, "Action": "sts:AssumeRole"}}]}}'
)


def assume_role_member(name: str) -> Any:
    model = botocore.session.get_session().get_service_model("sts")
    return model.operation_model("AssumeRole").input_shape.members[name]


SOURCE_IDENTITY = assume_role_member("SourceIdentity").metadata
SOURCE_IDENTITY_PATTERN = re.compile(rf"^(?:{SOURCE_IDENTITY['pattern']})$", re.ASCII)


def test_the_model_is_what_the_sanitizing_assumes() -> None:
    """Fails when a botocore version changes STS' rules for SourceIdentity beyond what the
    runtime's 2..64 characters satisfy (MWAA 3.0.6's botocore says at most 64, the locked one
    256: the MWAA-constraints run found the difference)."""
    assert SOURCE_IDENTITY["pattern"] == r"[\w+=,.@-]*"
    assert SOURCE_IDENTITY["min"] <= 2
    assert SOURCE_IDENTITY["max"] >= 64


@given(st.text(max_size=400))
def test_source_identity_always_satisfies_sts(dag_id: str) -> None:
    value = source_identity(RunContext(dag_id=dag_id, task_id="t", run_id="r"))
    assert SOURCE_IDENTITY["min"] <= len(value) <= 64
    assert SOURCE_IDENTITY_PATTERN.match(value), value


def test_source_identity_is_the_dag_id_when_sts_accepts_it() -> None:
    assert source_identity(RUN) == "orders_daily"


def test_long_dag_ids_keep_distinct_source_identities() -> None:
    a = source_identity(RunContext(dag_id="d" * 70 + "a", task_id="t", run_id="r"))
    b = source_identity(RunContext(dag_id="d" * 70 + "b", task_id="t", run_id="r"))
    assert len(a) == len(b) == 64
    assert a != b


def test_assume_role_sends_source_identity_and_run_tags_and_moto_accepts_it() -> None:
    sent: list[dict[str, Any]] = []
    with mock_aws():
        iam = boto3.client("iam", region_name="eu-west-1")
        arn = iam.create_role(RoleName="aai-dev-pipeline-orders", AssumeRolePolicyDocument=TRUST)[
            "Role"
        ]["Arn"]

        def client(region: str) -> Any:
            sts = boto3.client("sts", region_name=region)
            # Runs after botocore validated the parameters against the service model.
            sts.meta.events.register(
                "before-call.sts.AssumeRole",
                lambda params, **_: sent.append(dict(params["body"])),
            )
            return sts

        credentials = AssumedRoleCredentials(
            conn_id="mongo_orders",
            role=PipelineRole(role_arn=arn, region="eu-west-1", session_seconds=900),
            run=RUN,
            sts_client_factory=client,
        ).get()
    assert credentials.assumed_role_arn.startswith(
        f"arn:aws:sts::{ACCOUNT}:assumed-role/aai-dev-pipeline-orders/"
    )
    [body] = sent
    assert body["SourceIdentity"] == "orders_daily"
    assert {body[f"Tags.member.{i}.Key"]: body[f"Tags.member.{i}.Value"] for i in (1, 2, 3)} == {
        t["Key"]: t["Value"] for t in session_tags(RUN)
    }
