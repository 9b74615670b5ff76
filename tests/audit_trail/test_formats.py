"""The samples are messages and records their owners would write, read the way they mean them.

- Every Atlas sample a task run makes is recorded by the stack's own audit filter (the dev
  plan's `Auditing.auditFilter`, evaluated by mongomock, a MongoDB query engine we did not
  write), so such a message can be in a real log; a message the filter drops is dropped.
- CloudTrail's documented `expiration` form ("Oct 2, 2019, 11:12:29 PM", IAM User Guide) is
  what the samples write, and the evidence SQL reads it as that instant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import mongomock

from audit_trail import sql
from bench.audit_samples import (
    assume_role_record,
    auth_check,
    cloudtrail_expiration,
)
from tests.audit_trail.conftest import START, clean_day

AUDITING = "mongodbatlas:index/auditing:Auditing"


def audit_filter(plan: dict[str, Any]) -> dict[str, Any]:
    (auditing,) = [r for r in plan["resources"] if r["type"] == AUDITING]
    document = auditing["inputs"]["auditFilter"]
    return dict(document["__json__"] if "__json__" in document else json.loads(document))


def recorded(plan: dict[str, Any], messages: list[dict[str, Any]]) -> list[bool]:
    collection: Any = mongomock.MongoClient().audit.log
    collection.insert_many([{**m, "_n": n} for n, m in enumerate(messages)])
    kept = {d["_n"] for d in collection.find(audit_filter(plan))}
    return [n in kept for n in range(len(messages))]


def test_every_sample_message_is_one_the_stack_records(dev_plan: dict[str, Any]) -> None:
    day = clean_day(dev_plan)
    made_by_runs = [
        m
        for items in day.messages.values()
        for at, m in items
        if (at, m["users"][0]["user"] if m["users"] else m["param"]["user"]) in day.made_by
    ]
    assert {m["atype"] for m in made_by_runs} == {"authenticate", "authCheck"}
    assert len({m["users"][0]["db"] for m in made_by_runs}) == 2  # $external and admin
    assert all(recorded(dev_plan, made_by_runs))


def test_the_filter_drops_what_it_should(dev_plan: dict[str, Any]) -> None:
    """Not vacuous: an out-of-band user's successful non-data command is not recorded."""
    status = auth_check(
        at=START,
        user="ops-monitoring-agent",
        db="admin",
        role="clusterMonitor",
        command="serverStatus",
        ns="admin.$cmd",
        connection="AAAA",
    )
    assert recorded(dev_plan, [status]) == [False]


def test_the_documented_expiration_form_is_read_as_its_instant() -> None:
    documented = datetime(2019, 10, 2, 23, 12, 29, tzinfo=UTC)
    assert cloudtrail_expiration(documented) == "Oct 2, 2019, 11:12:29 PM"
    record = assume_role_record(
        at=documented - timedelta(hours=1),
        caller={"type": "AssumedRole", "arn": "arn:aws:sts::111111111111:assumed-role/w/x"},
        role_arn="arn:aws:iam::111111111111:role/JohnRole2",
        session_name="Role2WithTags",
        source_identity="JohnDoe",
        tags={"dag_id": "d", "task_id": "t", "run_id": "r"},
        duration_seconds=3600,
        access_key_id="ASIAI44QH8DHBEXAMPLE",
    )
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    db.execute(sql.text(sql.DUCKDB_MACROS))
    db.execute(
        "CREATE TABLE cloudtrail_records AS SELECT "
        "r->>'eventTime' AS eventTime, r->>'eventSource' AS eventSource, "
        "r->>'eventName' AS eventName, r->>'errorCode' AS errorCode, "
        "r->'requestParameters' AS requestParameters, "
        "r->'responseElements' AS responseElements FROM (SELECT ?::JSON AS r)",
        [json.dumps(record)],
    )
    db.execute(f"CREATE TABLE sts_sessions AS {sql.text('sts_sessions')}")
    row = db.execute("SELECT starts, ends, dag_id, task_id, run_id FROM sts_sessions").fetchone()
    assert row is not None
    assert (row[0], row[1]) == (documented - timedelta(hours=1), documented)
    assert row[2:] == ("d", "t", "r")
