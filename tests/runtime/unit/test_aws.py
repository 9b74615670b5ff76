"""Session names and tags within STS limits; refresh before expiry; errors without secrets."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from hypothesis import given
from hypothesis import strategies as st

from atlas_identity.aws import (
    AssumedRoleCredentials,
    RunContext,
    role_session_name,
    session_tags,
)
from atlas_identity.contract import PipelineRole
from atlas_identity.errors import AtlasIdentityError, Step

STS_NAME = re.compile(r"^[A-Za-z0-9_+=,.@-]{2,64}$")
STS_TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{0,256}$")
ROLE = PipelineRole(
    role_arn="arn:aws:iam::210987654321:role/aai-dev-pipeline-orders-ingest",
    region="eu-west-1",
    session_seconds=3600,
)
RUN = RunContext(dag_id="orders", task_id="load", run_id="manual__2026-11-29T05:00:00+00:00")


def test_session_name_keeps_a_short_name_readable() -> None:
    assert role_session_name(RUN) == "orders.load.manual__2026-11-29T05-00-00+00-00"


def test_long_names_are_cut_with_a_hash_that_keeps_them_distinct() -> None:
    a = RunContext(dag_id="d" * 80, task_id="t", run_id="scheduled__2026-11-29T05:00:00+00:00")
    b = RunContext(dag_id="d" * 80, task_id="t", run_id="scheduled__2026-11-29T05:15:00+00:00")
    name_a, name_b = role_session_name(a), role_session_name(b)
    assert len(name_a) == len(name_b) == 64
    assert name_a[:55] == name_b[:55] == "d" * 55
    assert name_a != name_b


@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=300))
def test_session_name_always_satisfies_sts(dag_id: str, task_id: str, run_id: str) -> None:
    name = role_session_name(RunContext(dag_id=dag_id, task_id=task_id, run_id=run_id))
    assert STS_NAME.match(name), name


@given(st.text(max_size=600), st.text(max_size=600), st.text(max_size=600))
def test_session_tags_have_exactly_the_allowed_keys_and_valid_values(
    dag_id: str, task_id: str, run_id: str
) -> None:
    tags = session_tags(RunContext(dag_id=dag_id, task_id=task_id, run_id=run_id))
    assert [t["Key"] for t in tags] == ["dag_id", "task_id", "run_id"]
    for tag in tags:
        assert STS_TAG_VALUE.match(tag["Value"]), tag


class FakeSts:
    def __init__(self, clock: list[float], lifetime: int) -> None:
        self.calls: list[dict[str, Any]] = []
        self.clock = clock
        self.lifetime = lifetime

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        n = len(self.calls)
        expiration = datetime.fromtimestamp(self.clock[0], UTC) + timedelta(seconds=self.lifetime)
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{n:016d}",
                "SecretAccessKey": f"secret-{n}",
                "SessionToken": f"token-{n}",
                "Expiration": expiration,
            },
            "AssumedRoleUser": {
                "Arn": f"arn:aws:sts::210987654321:assumed-role/r/{kwargs['RoleSessionName']}"
            },
        }


def test_credentials_are_reassumed_only_near_expiry() -> None:
    clock = [1_000_000.0]
    sts = FakeSts(clock, lifetime=900)
    creds = AssumedRoleCredentials(
        conn_id="mongo_orders_ingest",
        role=ROLE,
        run=RUN,
        max_session_seconds=900,
        sts_client_factory=lambda region: sts,
        clock=lambda: clock[0],
    )
    first = creds.get()
    assert first.access_key_id == "ASIA0000000000000001"
    assert sts.calls[0]["DurationSeconds"] == 900
    assert sts.calls[0]["RoleSessionName"] == role_session_name(RUN)
    assert sts.calls[0]["Tags"] == session_tags(RUN)
    clock[0] += 900 - 181  # margin is a fifth of 900 s = 180 s
    assert creds.get() is first
    clock[0] += 2
    assert creds.get().access_key_id == "ASIA0000000000000002"
    assert len(sts.calls) == 2
    assert "secret" not in repr(first)
    assert "token-1" not in repr(first)


def test_duration_never_exceeds_the_contract() -> None:
    creds = AssumedRoleCredentials(
        conn_id="c", role=ROLE, run=RUN, max_session_seconds=7200, sts_client_factory=None
    )
    assert creds.duration_seconds == 3600


class Refusing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        raise self.error


def test_sts_refusal_names_connection_step_and_role() -> None:
    error = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform sts:TagSession"}},
        "AssumeRole",
    )
    creds = AssumedRoleCredentials(
        conn_id="mongo_orders_ingest",
        role=ROLE,
        run=RUN,
        sts_client_factory=lambda r: Refusing(error),
    )
    with pytest.raises(AtlasIdentityError) as caught:
        creds.get()
    assert caught.value.step is Step.ASSUME_ROLE
    assert str(caught.value) == (
        "connection 'mongo_orders_ingest': assume role failed: STS refused to assume "
        "arn:aws:iam::210987654321:role/aai-dev-pipeline-orders-ingest (AccessDenied: not "
        "authorized to perform sts:TagSession)"
    )


def test_unreachable_sts_is_a_clear_error() -> None:
    error = EndpointConnectionError(endpoint_url="https://sts.eu-west-1.amazonaws.com/")
    creds = AssumedRoleCredentials(
        conn_id="mongo_orders_ingest",
        role=ROLE,
        run=RUN,
        sts_client_factory=lambda r: Refusing(error),
    )
    with pytest.raises(AtlasIdentityError, match=r"assume role failed: could not call STS"):
        creds.get()
