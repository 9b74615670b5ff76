"""Every secret the runtime handles is registered with Airflow's masker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atlas_identity import masking
from atlas_identity.aws import AssumedRoleCredentials, RunContext
from atlas_identity.contract import PipelineRole


@pytest.fixture
def masked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    seen: list[tuple[str, str | None]] = []
    monkeypatch.setattr(masking, "_masker", lambda: lambda v, n=None: seen.append((v, n)))
    return seen


def test_the_airflow_masker_is_found() -> None:
    from airflow.sdk.log import mask_secret

    masking._masker.cache_clear()
    assert masking._masker() is mask_secret


def test_empty_values_are_not_registered(masked: list[tuple[str, str | None]]) -> None:
    masking.mask("")
    masking.mask(None)
    masking.mask_all({"a": "x", "b": 3, "c": ""})
    assert masked == [("x", "a")]


def test_sts_secrets_are_masked_as_soon_as_they_arrive(
    masked: list[tuple[str, str | None]],
) -> None:
    class Sts:
        def assume_role(self, **kwargs: Any) -> dict[str, Any]:
            return {
                "Credentials": {
                    "AccessKeyId": "ASIAEXAMPLE",
                    "SecretAccessKey": "s3cr3t",
                    "SessionToken": "t0k3n",
                    "Expiration": datetime.now(UTC) + timedelta(hours=1),
                },
                "AssumedRoleUser": {"Arn": "arn:aws:sts::1:assumed-role/r/s"},
            }

    AssumedRoleCredentials(
        conn_id="c",
        role=PipelineRole(
            role_arn="arn:aws:iam::210987654321:role/r", region="eu-west-1", session_seconds=900
        ),
        run=RunContext(dag_id="d", task_id="t", run_id="r"),
        sts_client_factory=lambda region: Sts(),
    ).get()
    assert masked == [("s3cr3t", "aws_secret_access_key"), ("t0k3n", "aws_session_token")]
