"""`--from-s3` on moto's S3 (a server on 127.0.0.1): the buckets read like the directories, and
an object under S3 Object Lock keeps every version.

The buckets are set up as the retention design asks (versioning and Object Lock with a default
COMPLIANCE retention); moto enforces the lock on a versioned delete (Amazon S3 User Guide,
"Locking objects with Object Lock": "In compliance mode, a protected object version can't be
overwritten or deleted by any user, including the root user").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from tests.audit_trail.conftest import ALLOW_AGENT, DEV_PLAN, clean_day, run_cli, run_command

REGION = "eu-west-1"
EVIDENCE_BUCKET, TRAIL_BUCKET = "aai-dev-audit-evidence", "aai-dev-audit-trail"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "auditor", "AWS_SECRET_ACCESS_KEY": "auditor"}


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto keeps its state per process: start each test from empty buckets.
    session = requests.Session()
    session.trust_env = False  # never route loopback through a proxy
    session.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    try:
        yield endpoint
    finally:
        server.stop()


def client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def locked_bucket(s3: Any, name: str, mode: str = "COMPLIANCE") -> None:
    s3.create_bucket(
        Bucket=name,
        CreateBucketConfiguration={"LocationConstraint": REGION},
        ObjectLockEnabledForBucket=True,
    )
    s3.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": mode, "Days": 365}},
        },
    )


def upload(s3: Any, bucket: str, root: Path, prefix: str) -> int:
    files = [p for p in sorted(root.rglob("*")) if p.is_file()] if root.is_dir() else [root]
    for path in files:
        key = prefix + (path.relative_to(root).as_posix() if root.is_dir() else path.name)
        s3.upload_file(str(path), bucket, key)
    return len(files)


def sorted_rows(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def test_the_buckets_read_like_the_directories(
    dev_plan: dict[str, Any], tmp_path: Path, s3_endpoint: str
) -> None:
    inputs = clean_day(dev_plan).write(tmp_path / "logs")
    s3 = client(s3_endpoint)
    locked_bucket(s3, EVIDENCE_BUCKET)
    locked_bucket(s3, TRAIL_BUCKET)
    assert upload(s3, EVIDENCE_BUCKET, inputs.atlas, "atlas/") > 1
    upload(s3, EVIDENCE_BUCKET, inputs.vault, "vault/")
    upload(s3, TRAIL_BUCKET, inputs.cloudtrail, "")
    remote = run_cli(
        [
            "--stack",
            "dev",
            "--plan",
            str(DEV_PLAN),
            "--from-s3",
            "--atlas-logs",
            f"s3://{EVIDENCE_BUCKET}/atlas/",
            "--cloudtrail",
            f"s3://{TRAIL_BUCKET}/AWSLogs/",
            "--vault-audit",
            f"s3://{EVIDENCE_BUCKET}/vault/{inputs.vault.name}",
            *ALLOW_AGENT,
        ],
        tmp_path / "from-s3",
        env={**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint, "AWS_DEFAULT_REGION": REGION},
    )
    local = run_command(inputs, tmp_path / "local", extra=ALLOW_AGENT)
    assert (remote.code, remote.stderr) == (0, ""), remote.stdout
    assert remote.ledger
    assert sorted_rows(remote.ledger) == sorted_rows(local.ledger)
    assert remote.findings == local.findings == []

    broken = f"atlas/{sorted(inputs.atlas.rglob('*.log.gz'))[0].relative_to(inputs.atlas)}"
    s3.put_object(Bucket=EVIDENCE_BUCKET, Key=broken, Body=b'{"atype": \n')
    unreadable = run_cli(
        [
            "--stack",
            "dev",
            "--plan",
            str(DEV_PLAN),
            "--from-s3",
            "--atlas-logs",
            f"s3://{EVIDENCE_BUCKET}/atlas/",
            "--cloudtrail",
            f"s3://{TRAIL_BUCKET}/AWSLogs/",
        ],
        tmp_path / "unreadable",
        env={**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint, "AWS_DEFAULT_REGION": REGION},
    )
    assert unreadable.code == 2
    assert unreadable.stderr.startswith(f"error: s3://{EVIDENCE_BUCKET}/{broken}:1: not JSON")

    missing = run_cli(
        [
            "--stack",
            "dev",
            "--plan",
            str(DEV_PLAN),
            "--from-s3",
            "--atlas-logs",
            f"s3://{EVIDENCE_BUCKET}/nothing-here/",
            "--cloudtrail",
            f"s3://{TRAIL_BUCKET}/AWSLogs/",
        ],
        tmp_path / "missing",
        env={**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint, "AWS_DEFAULT_REGION": REGION},
    )
    assert missing.code == 2
    assert missing.stderr.strip() == (
        f"error: s3://{EVIDENCE_BUCKET}/nothing-here/: no object under this prefix"
    )


def test_a_locked_log_version_cannot_be_deleted(s3_endpoint: str) -> None:
    s3 = client(s3_endpoint)
    locked_bucket(s3, EVIDENCE_BUCKET)
    key = "atlas/64b7f0c2a1d3e4f5a6b7c8d9/core-dev/host/mongod-audit-log/2026-12-01/1.log.gz"
    version = s3.put_object(Bucket=EVIDENCE_BUCKET, Key=key, Body=b"{}\n")["VersionId"]
    assert s3.head_object(Bucket=EVIDENCE_BUCKET, Key=key)["ObjectLockMode"] == "COMPLIANCE"
    for bypass in (False, True):
        with pytest.raises(ClientError) as refused:
            s3.delete_object(
                Bucket=EVIDENCE_BUCKET,
                Key=key,
                VersionId=version,
                BypassGovernanceRetention=bypass,
            )
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # A delete without a version only adds a delete marker: the locked version stays.
    assert s3.delete_object(Bucket=EVIDENCE_BUCKET, Key=key)["DeleteMarker"] is True
    versions = s3.list_object_versions(Bucket=EVIDENCE_BUCKET, Prefix=key)["Versions"]
    assert [v["VersionId"] for v in versions] == [version]


def test_governance_mode_yields_to_a_bypass(s3_endpoint: str) -> None:
    """Why prod asks for COMPLIANCE: GOVERNANCE lets a principal allowed
    s3:BypassGovernanceRetention delete a version (moto does not check that permission)."""
    s3 = client(s3_endpoint)
    locked_bucket(s3, TRAIL_BUCKET, mode="GOVERNANCE")
    until = datetime.now(UTC) + timedelta(days=30)
    version = s3.put_object(
        Bucket=TRAIL_BUCKET,
        Key="k",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]
    with pytest.raises(ClientError):
        s3.delete_object(Bucket=TRAIL_BUCKET, Key="k", VersionId=version)
    s3.delete_object(
        Bucket=TRAIL_BUCKET, Key="k", VersionId=version, BypassGovernanceRetention=True
    )
    assert "Versions" not in s3.list_object_versions(Bucket=TRAIL_BUCKET, Prefix="k")
