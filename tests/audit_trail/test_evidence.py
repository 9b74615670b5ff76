"""`python -m audit_trail` on a day of logs in their documented formats (bench/audit_samples.py).

Expectations come from the dev stack's plan (pipelines, modes, grants, projects) and from the
scenario (which task run made which connection), never from the evidence SQL itself: a clean
day reports nothing and attributes each access to the run that made it, in all three auth
modes; each planted anomaly is reported as its kind; removing one mode's evidence (the STS
session, the KMS signature, the Vault lease) leaves that mode's accesses without a run.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.audit_samples import AGENT_USER, Day, Inputs, Run, assume_role_record
from tests.audit_trail.conftest import (
    ALLOW_AGENT,
    RUN_SPACING,
    START,
    clean_day,
    run_command,
)

EXIT_CLEAN, EXIT_FINDINGS = 0, 1
# After every clean-day credential has expired (sessions and tokens live 1 h in dev).
LATER = START + 2 * RUN_SPACING + timedelta(minutes=30)


def at_of(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(row["ts"]).replace("Z", "+00:00"))


def run_dict(run: Run) -> dict[str, str]:
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "task_id": run.task_id,
        "session": run.session,
    }


def planned_rows(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["pipeline"]: r for r in plan["outputs"]["accessMatrix"]}


def test_a_clean_day_reports_nothing_and_attributes_each_access_to_its_run(
    dev_plan: dict[str, Any], tmp_path: Path
) -> None:
    day = clean_day(dev_plan)
    result = run_command(day.write(tmp_path / "logs"), tmp_path / "out", extra=ALLOW_AGENT)
    assert (result.code, result.findings) == (EXIT_CLEAN, []), result.stderr + result.stdout
    ledger = result.ledger
    assert len(ledger) == sum(len(items) for items in day.messages.values())
    planned = planned_rows(dev_plan)
    attributed_modes = set()
    for row in ledger:
        made_by = day.made_by.get((at_of(row), row["user"]))
        if row["user"] == AGENT_USER:
            assert (row["pipeline"], row["authMode"], row["runs"]) == (None, None, [])
            continue
        assert made_by is not None, row
        assert row["pipeline"] == made_by.pipeline
        assert row["authMode"] == planned[made_by.pipeline]["authMode"]
        assert row["cluster"] == planned[made_by.pipeline]["cluster"]
        assert row["runs"] == [run_dict(made_by)], row
        attributed_modes.add(row["authMode"])
    assert attributed_modes == {r["authMode"] for r in planned.values()}
    assert len(attributed_modes) == 3
    assert f"ledger: {len(ledger)} Atlas messages" in result.stdout


def test_the_operators_agent_is_an_unknown_user_until_allowed(
    dev_plan: dict[str, Any], tmp_path: Path
) -> None:
    day = clean_day(dev_plan, rounds=1)
    result = run_command(day.write(tmp_path / "logs"), tmp_path / "out")
    assert result.code == EXIT_FINDINGS
    assert [(f["kind"], f["user"]) for f in result.findings] == [("unknown-user", AGENT_USER)]


def _plant_unknown_user(day: Day) -> dict[str, Any]:
    p = day.pipelines["orders-ingest"]
    day.connect(
        p,
        user="adhoc-analyst",
        db="admin",
        mechanism="SCRAM-SHA-256",
        at=START + timedelta(minutes=12),
        namespaces=[("find", "sales.orders")],
    )
    return {"kind": "unknown-user", "user": "adhoc-analyst", "ns": None}


def _plant_denied(day: Day) -> dict[str, Any]:
    # reference.currencies is granted read-only: Atlas refuses the insert (13 Unauthorized).
    p = day.pipelines["orders-ingest"]
    user, db, mechanism = day.audited_user(p)
    day.task_run(
        "orders-ingest", at=START + 2 * RUN_SPACING, run_id="manual__denied", namespaces=[]
    )
    day.connect(
        p,
        user=user,
        db=db,
        mechanism=mechanism,
        at=START + 2 * RUN_SPACING + timedelta(seconds=30),
        namespaces=[("insert", "reference.currencies")],
        result=13,
    )
    return {"kind": "denied", "user": user, "ns": "reference.currencies"}


def _plant_ddl(day: Day) -> dict[str, Any]:
    # revenue-report may create indexes on analytics.daily_revenue: allowed, and still DDL.
    run = day.task_run(
        "revenue-report",
        at=START + 2 * RUN_SPACING,
        run_id="manual__ddl",
        namespaces=[("createIndexes", "analytics.daily_revenue")],
    )
    return {"kind": "ddl", "user": run.user, "ns": "analytics.daily_revenue"}


def _plant_outside_grant(day: Day) -> dict[str, Any]:
    run = day.task_run(
        "customer-sync",
        at=START + 2 * RUN_SPACING,
        run_id="manual__outside",
        namespaces=[("find", "finance.ledger")],
    )
    return {"kind": "outside-grant", "user": run.user, "ns": "finance.ledger"}


PLANTS = {
    "unknown-user": _plant_unknown_user,
    "denied": _plant_denied,
    "ddl": _plant_ddl,
    "outside-grant": _plant_outside_grant,
}


def _day_with(dev_plan: dict[str, Any], extend: bool) -> Day:
    day = clean_day(dev_plan)
    if extend:  # planted runs happen after the clean rounds: keep the agent's heartbeat on
        day.agent_heartbeats(start=START + 2 * RUN_SPACING, end=START + 3 * RUN_SPACING)
    return day


@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_each_planted_anomaly_is_reported_as_its_kind(
    kind: str, dev_plan: dict[str, Any], tmp_path: Path
) -> None:
    day = _day_with(dev_plan, extend=True)
    expected = PLANTS[kind](day)
    result = run_command(day.write(tmp_path / "logs"), tmp_path / "out", extra=ALLOW_AGENT)
    assert result.code == EXIT_FINDINGS, result.stderr
    found = [{k: f[k] for k in ("kind", "user", "ns")} for f in result.findings]
    assert found == [expected], result.findings


@pytest.mark.parametrize("pipeline", ["crm-explorer", "partner-feed", "finance-reconcile"])
def test_an_access_without_a_covering_credential_is_no_session(
    pipeline: str, dev_plan: dict[str, Any], tmp_path: Path
) -> None:
    """The pipeline's own identity, used between its runs' credentials (one per auth mode)."""
    day = _day_with(dev_plan, extend=True)
    at = LATER
    ns = "{}.{}".format(*day.pipelines[pipeline].grants[0]).replace(".*", ".anything")
    user = day.orphan_access(pipeline, at=at, namespaces=[("find", ns)])
    result = run_command(day.write(tmp_path / "logs"), tmp_path / "out", extra=ALLOW_AGENT)
    assert result.code == EXIT_FINDINGS
    found = {(f["kind"], f["user"], f["ns"]) for f in result.findings}
    assert found == {("no-session", user, None), ("no-session", user, ns)}, result.findings
    orphans = [r for r in result.ledger if r["user"] == user and at_of(r) >= at]
    assert len(orphans) == 2
    assert {(r["pipeline"], json.dumps(r["runs"])) for r in orphans} == {(pipeline, "[]")}


def _remove_records(inputs: Inputs, predicate: Any) -> int:
    removed = 0
    for path in sorted(inputs.cloudtrail.rglob("*_CloudTrail_*.json.gz")):
        document = json.loads(gzip.decompress(path.read_bytes()))
        kept = [r for r in document["Records"] if not predicate(r)]
        removed += len(document["Records"]) - len(kept)
        path.write_bytes(gzip.compress(json.dumps({"Records": kept}).encode()))
    return removed


@pytest.mark.parametrize(
    ("pipeline", "evidence"),
    [
        ("orders-ingest", "AssumeRole of its role"),
        ("partner-feed", "KMS Sign by its role"),
        ("finance-reconcile", "Vault creds read of its path"),
    ],
)
def test_each_mode_needs_its_own_evidence(
    pipeline: str, evidence: str, dev_plan: dict[str, Any], tmp_path: Path
) -> None:
    day = clean_day(dev_plan)
    p = day.pipelines[pipeline]
    inputs = day.write(tmp_path / "logs")
    if evidence.startswith("AssumeRole"):
        assert (
            _remove_records(
                inputs,
                lambda r: (
                    r["eventName"] == "AssumeRole"
                    and r["requestParameters"]["roleArn"] == p.role_arn
                ),
            )
            == 2
        )
    elif evidence.startswith("KMS"):
        assert _remove_records(inputs, lambda r: r["eventName"] == "Sign") == 2
    else:
        lines = inputs.vault.read_text().splitlines()
        kept = [x for x in lines if json.loads(x)["request"]["path"] != p.vault_creds_path]
        assert len(lines) - len(kept) == 2
        inputs.vault.write_text("".join(x + "\n" for x in kept))
    result = run_command(inputs, tmp_path / "out", extra=ALLOW_AGENT)
    assert {f["kind"] for f in result.findings} == {"no-session"}
    assert {f["user"] for f in result.findings} == {
        r.user for r in day.runs if r.pipeline == pipeline
    }
    mine = [r for r in result.ledger if r["pipeline"] == pipeline]
    assert mine
    assert all(r["runs"] == [] for r in mine)
    others = [r for r in result.ledger if r["pipeline"] not in (None, pipeline)]
    assert others
    assert all(r["runs"] for r in others)


def test_overlapping_runs_of_a_role_are_both_listed_but_vault_users_tell_them_apart(
    dev_plan: dict[str, Any], tmp_path: Path
) -> None:
    """MONGODB-AWS audits the role, not the session: two sessions valid at once are both
    candidates. Vault issues a user per run: its lease names the one run."""
    day = _day_with(dev_plan, extend=True)
    later = LATER
    aws_a = day.task_run("orders-ingest", at=later, run_id="manual__a")
    aws_b = day.task_run("orders-ingest", at=later + timedelta(minutes=1), run_id="manual__b")
    vault_a = day.task_run("finance-reconcile", at=later, run_id="manual__a")
    vault_b = day.task_run("finance-reconcile", at=later + timedelta(minutes=1), run_id="manual__b")
    result = run_command(day.write(tmp_path / "logs"), tmp_path / "out", extra=ALLOW_AGENT)
    assert result.code == EXIT_CLEAN, result.findings
    by_time = {(at_of(r), r["user"]): r["runs"] for r in result.ledger}
    second_aws = later + timedelta(minutes=1, seconds=2)
    assert by_time[(second_aws, aws_b.user)] == sorted(
        [run_dict(aws_a), run_dict(aws_b)], key=lambda r: r["session"]
    )
    assert by_time[(later + timedelta(seconds=2), vault_a.user)] == [run_dict(vault_a)]
    assert by_time[(second_aws, vault_b.user)] == [run_dict(vault_b)]


def _delete(paths: list[Path]) -> None:
    assert paths
    for path in paths:
        path.unlink()


@pytest.mark.parametrize("hole", ["atlas files", "trail file", "digest", "all digests"])
def test_a_hole_in_a_log_is_a_gap(hole: str, dev_plan: dict[str, Any], tmp_path: Path) -> None:
    day = clean_day(dev_plan, rounds=3)  # three hours: three chained digests
    # A record of nobody's interest, alone in its 5-minute CloudTrail delivery.
    lone = START + timedelta(minutes=47)
    day.records.append(
        (
            lone,
            assume_role_record(
                at=lone,
                caller=day.worker,
                role_arn=day.plan["outputs"]["executionRoleArn"],
                session_name="unrelated",
                source_identity="unrelated",
                tags={},
                duration_seconds=900,
                access_key_id="ASIAUNRELATED0000001",
            ),
        )
    )
    inputs = day.write(tmp_path / "logs")
    atlas = sorted(inputs.atlas.rglob("*.log.gz"))
    digests = sorted(inputs.cloudtrail.rglob("*CloudTrail-Digest*.json.gz"))
    if hole == "atlas files":
        _delete(atlas[4:8])  # 20 minutes of one host
    elif hole == "trail file":
        _delete(
            [
                p
                for p in inputs.cloudtrail.rglob("*_CloudTrail_*.json.gz")
                if b"ASIAUNRELATED" in gzip.decompress(p.read_bytes())
            ]
        )
    elif hole == "digest":
        assert len(digests) == 3
        _delete(digests[1:2])
    else:
        _delete(digests)
    result = run_command(inputs, tmp_path / "out", extra=ALLOW_AGENT)
    assert result.code == EXIT_FINDINGS
    assert [f["kind"] for f in result.findings] == ["gap"], result.findings
    detail = result.findings[0]["detail"]
    expected_words = {
        "atlas files": "Atlas audit log of",
        "trail file": "is missing",
        "digest": "skip from",
        "all digests": "no CloudTrail digest file",
    }[hole]
    assert expected_words in detail
