"""The Atlas audit filter, evaluated against audit messages in MongoDB's documented format.

Messages follow the `mongo` audit schema ("mongo Schema Audit Messages",
https://www.mongodb.com/docs/manual/reference/audit-message/mongo/): `authenticate` has
`param: {user, db, mechanism}` and result 0 or 18 (AuthenticationFailed); `authCheck` has
`param: {command, ns, args}` and result 0 or 13 (Unauthorized); `users` lists the
authenticated `{user, db}`. The filter is the one the prod plan declares, evaluated by
mongomock (an implementation of MongoDB's query operators we did not write): the messages go
into a collection and `find(filter)` selects what the audit log would record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import mongomock

from components.atlas.access import AtlasAccess, AtlasAccessArgs, AtlasPipelineSpec
from components.atlas.audit_filter import iam_role_pattern
from model.access import Privilege
from tests.stacks_discovery import StackPlans

AUDITING = "mongodbatlas:index/auditing:Auditing"
# A Date in the server's message (extended JSON shows it as {"$date": ...}).
TS = datetime(2026, 11, 1, tzinfo=UTC)


def recorded_by(
    audit_filter: Mapping[str, Any], messages: Mapping[str, dict[str, Any]]
) -> set[str]:
    """The names of the messages `audit_filter` selects, as MongoDB's query engine selects them."""
    collection: mongomock.Collection[dict[str, Any]] = mongomock.MongoClient().audit.messages
    collection.insert_many([{"_id": name, **message} for name, message in messages.items()])
    return {str(document["_id"]) for document in collection.find(dict(audit_filter))}


def prod_filter(plans: StackPlans) -> dict[str, Any]:
    (auditing,) = [r for r in plans["prod"]["resources"] if r["type"] == AUDITING]
    assert auditing["inputs"]["auditAuthorizationSuccess"] is True
    document: dict[str, Any] = json.loads(auditing["inputs"]["auditFilter"])
    return document


def identity(plans: StackPlans, pipeline: str) -> str:
    rows = plans["prod"]["outputs"]["accessMatrix"]
    return str(next(r["identity"] for r in rows if r["pipeline"] == pipeline))


def auth_check(user: str, db: str, command: str, ns: str, result: int = 0) -> dict[str, Any]:
    return {
        "atype": "authCheck",
        "ts": TS,
        "local": {"ip": "192.168.0.10", "port": 27017},
        "remote": {"ip": "10.40.0.7", "port": 53210},
        "users": [{"user": user, "db": db}],
        "roles": [{"role": "custom", "db": "admin"}],
        "param": {"command": command, "ns": ns, "args": {command: ns.split(".")[-1]}},
        "result": result,
    }


def authenticate(user: str, db: str, mechanism: str, result: int = 0) -> dict[str, Any]:
    return {
        "atype": "authenticate",
        "ts": TS,
        "local": {"ip": "192.168.0.10", "port": 27017},
        "remote": {"ip": "10.40.0.7", "port": 53210},
        "users": [{"user": user, "db": db}] if result == 0 else [],
        "roles": [],
        "param": {"user": user, "db": db, "mechanism": mechanism},
        "result": result,
    }


def recorded(plans: StackPlans) -> dict[str, dict[str, Any]]:
    iam = identity(plans, "orders-ingest")
    oidc = identity(plans, "partner-feed")
    vault_user = "v-aws-aai--finance--Xq3WmN8pLk2Zr7TgHd4B-1793491200"
    return {
        "pipeline read": auth_check(iam, "$external", "find", "sales.orders"),
        "pipeline bulkWrite": auth_check(iam, "$external", "bulkWrite", "admin.$cmd"),
        "pipeline explain": auth_check(iam, "$external", "explain", "sales.orders"),
        "pipeline mapReduce": auth_check(iam, "$external", "mapReduce", "sales.orders"),
        "oidc change stream": auth_check(oidc, "$external", "aggregate", "sales.orders"),
        "oidc change stream getMore": auth_check(oidc, "$external", "getMore", "sales.orders"),
        "denied dropDatabase by a pipeline": auth_check(
            iam, "$external", "dropDatabase", "sales.$cmd", result=13
        ),
        "denied createUser by a pipeline": auth_check(
            oidc, "$external", "createUser", "admin.$cmd", result=13
        ),
        "denied listDatabases by a pipeline": auth_check(
            iam, "$external", "listDatabases", "admin.$cmd", result=13
        ),
        "pipeline's successful non-data command": auth_check(
            iam, "$external", "connectionStatus", "admin.$cmd"
        ),
        "OIDC pipeline's successful non-data command": auth_check(
            oidc, "$external", "dbStats", "sales.$cmd"
        ),
        "Vault-issued user's successful non-data command": auth_check(
            vault_user, "admin", "connectionStatus", "admin.$cmd"
        ),
        "out-of-band user reads": auth_check("analyst", "admin", "find", "sales.orders"),
        "out-of-band user authenticates": authenticate("analyst", "admin", "SCRAM-SHA-256"),
        "out-of-band user denied": auth_check(
            "analyst", "admin", "dropDatabase", "sales.$cmd", result=13
        ),
        "Vault-issued user authenticates": authenticate(vault_user, "admin", "SCRAM-SHA-256"),
        "Vault-issued user writes": auth_check(vault_user, "admin", "update", "finance.ledger"),
        "IAM authentication": authenticate(iam, "$external", "MONGODB-AWS"),
        "OIDC authentication": authenticate(oidc, "$external", "MONGODB-OIDC"),
        "failed authentication": authenticate(iam, "$external", "MONGODB-AWS", result=18),
        "another stack's role denied": auth_check(
            "arn:aws:iam::987654321098:role/aai-dev-pipeline-x", "$external", "find", "a.b", 13
        ),
    }


def not_recorded() -> dict[str, dict[str, Any]]:
    return {
        # Atlas' own agents run status commands all day; they are neither data nor denied.
        "monitoring agent's serverStatus": auth_check(
            "mms-monitoring-agent", "admin", "serverStatus", "admin.$cmd"
        ),
        # Same account, another stack's pipeline role: not this stack's identity.
        "another stack's role, non-data command": auth_check(
            "arn:aws:iam::987654321098:role/aai-dev-pipeline-orders-ingest",
            "$external",
            "connectionStatus",
            "admin.$cmd",
        ),
        "internal cluster authentication": authenticate("__system", "local", "SCRAM-SHA-256"),
    }


def test_every_required_message_is_recorded(committed_plans: StackPlans) -> None:
    messages = recorded(committed_plans)
    assert recorded_by(prod_filter(committed_plans), messages) == set(messages)


def test_messages_outside_the_claim_are_not_recorded(committed_plans: StackPlans) -> None:
    assert recorded_by(prod_filter(committed_plans), not_recorded()) == set()


def test_each_clause_is_needed(committed_plans: StackPlans) -> None:
    """Dropping any clause of the filter loses at least one required message."""
    audit_filter = prod_filter(committed_plans)
    messages = recorded(committed_plans)
    for index in range(len(audit_filter["$or"])):
        weaker = {"$or": [c for i, c in enumerate(audit_filter["$or"]) if i != index]}
        lost = set(messages) - recorded_by(weaker, messages)
        assert lost, f"clause {index} records nothing on its own"


def _filter_of(pipelines: int) -> str:
    from devtools.offline import PlanMocks, run_program

    specs = tuple(
        AtlasPipelineSpec(
            pipeline=f"p{i:04d}",
            role_name=f"aai-test-p{i:04d}",
            privileges=(Privilege(action="FIND", database="sales", collection="orders"),),
            cluster="core",
            project_id="0123456789abcdef01234567",
            iam_role_arn=f"arn:aws:iam::123456789012:role/aai-test-pipeline-p{i:04d}",
        )
        for i in range(pipelines)
    )

    def program() -> None:
        AtlasAccess(
            "atlas",
            AtlasAccessArgs(
                stack="test",
                project_id="0123456789abcdef01234567",
                pipeline_role_pattern=iam_role_pattern("123456789012", "aai-test-pipeline-"),
                pipelines=specs,
                audit_authorization_success=True,
            ),
        )

    run = run_program(
        project="airflow-atlas-identity",
        stack="test",
        config={},
        mocks=PlanMocks(),
        program=program,
    )
    (auditing,) = run.monitor.by_type(AUDITING)
    return str(auditing.inputs["auditFilter"])


def test_filter_size_does_not_grow_with_pipelines() -> None:
    small, large = _filter_of(40), _filter_of(300)
    assert len(small) == len(large)
    assert small == large


# The data commands the audit claim covers (docs/auditing.md), listed here independently of the
# code.
# A change stream is an `aggregate` with a `$changeStream` stage, then `getMore`.
DATA_COMMANDS = (
    "aggregate",
    "bulkWrite",
    "delete",
    "explain",
    "find",
    "findAndModify",
    "getMore",
    "insert",
    "mapReduce",
    "update",
)


def test_every_data_command_of_any_user_is_recorded(committed_plans: StackPlans) -> None:
    """Even a user created out of band, matching no pipeline pattern, leaves a data trail."""
    messages = {c: auth_check("analyst", "admin", c, "sales.orders") for c in DATA_COMMANDS}
    assert recorded_by(prod_filter(committed_plans), messages) == set(DATA_COMMANDS)
