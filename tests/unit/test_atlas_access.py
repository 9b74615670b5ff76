"""AtlasAccess: custom roles limited to grants, IAM-role users without passwords, auditing."""

from __future__ import annotations

import json
from typing import Any

from components.access import Privilege
from components.atlas_access import AtlasAccess, AtlasAccessArgs, AtlasPipelineSpec

ROLE_ARN = "arn:aws:iam::123456789012:role/aai-test-pipeline-orders-ingest"
COMPONENT_URN = (
    "urn:pulumi:test::airflow-atlas-identity::airflow-atlas-identity:atlas:AtlasAccess::atlas"
)
CUSTOM_ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
USER = "mongodbatlas:index/databaseUser:DatabaseUser"
AUDITING = "mongodbatlas:index/auditing:Auditing"


def args(protect: bool = False) -> AtlasAccessArgs:
    return AtlasAccessArgs(
        stack="test",
        project_id="0123456789abcdef01234567",
        pipelines=(
            AtlasPipelineSpec(
                pipeline="orders-ingest",
                role_name="aai-test-orders-ingest",
                privileges=(
                    Privilege(action="FIND", database="reference", collection="currencies"),
                    Privilege(action="FIND", database="sales", collection="orders"),
                    Privilege(action="INSERT", database="sales", collection="orders"),
                ),
                cluster="core",
                iam_role_arn=ROLE_ARN,
            ),
            AtlasPipelineSpec(
                pipeline="report",
                role_name="aai-test-report",
                privileges=(Privilege(action="FIND", database="sales", collection=""),),
                cluster="analytics",
            ),
        ),
        audit_authorization_success=True,
        protect_auditing=protect,
    )


def test_children_and_parents(run_component: Any) -> None:
    run = run_component(lambda: AtlasAccess("atlas", args()))
    # Registration order follows Output resolution, so compare as a sorted list.
    assert sorted((r.type, r.name) for r in run.monitor.registrations) == [
        ("airflow-atlas-identity:atlas:AtlasAccess", "atlas"),
        (AUDITING, "atlas-auditing"),
        (CUSTOM_ROLE, "atlas-orders-ingest-role"),
        (CUSTOM_ROLE, "atlas-report-role"),
        (USER, "atlas-orders-ingest-iam-user"),
    ]
    assert {r.parent for r in run.monitor.registrations[1:]} == {COMPONENT_URN}


def test_custom_role_grants_exactly_the_privileges_grouped_by_action(run_component: Any) -> None:
    run = run_component(lambda: AtlasAccess("atlas", args()))
    assert run.monitor.one(CUSTOM_ROLE, "atlas-orders-ingest-role").inputs == {
        "projectId": "0123456789abcdef01234567",
        "roleName": "aai-test-orders-ingest",
        "actions": [
            {
                "action": "FIND",
                "resources": [
                    {"databaseName": "reference", "collectionName": "currencies"},
                    {"databaseName": "sales", "collectionName": "orders"},
                ],
            },
            {
                "action": "INSERT",
                "resources": [{"databaseName": "sales", "collectionName": "orders"}],
            },
        ],
    }
    whole_db = run.monitor.one(CUSTOM_ROLE, "atlas-report-role").inputs["actions"]
    assert whole_db == [
        {"action": "FIND", "resources": [{"databaseName": "sales", "collectionName": ""}]}
    ]


def test_iam_user_is_the_role_arn_on_external_with_only_its_role_and_cluster(
    run_component: Any,
) -> None:
    run = run_component(lambda: AtlasAccess("atlas", args()))
    user = run.monitor.one(USER, "atlas-orders-ingest-iam-user").inputs
    assert user == {
        "projectId": "0123456789abcdef01234567",
        "username": ROLE_ARN,
        "authDatabaseName": "$external",
        "awsIamType": "ROLE",
        "roles": [{"roleName": "aai-test-orders-ingest", "databaseName": "admin"}],
        "scopes": [{"name": "core", "type": "CLUSTER"}],
        "labels": [
            {"key": "pipeline", "value": "orders-ingest"},
            {"key": "stack", "value": "test"},
        ],
        "description": "pipeline orders-ingest (test) via its IAM role",
    }
    assert "password" not in user


def test_pipelines_without_an_iam_role_get_no_iam_user(run_component: Any) -> None:
    run = run_component(lambda: AtlasAccess("atlas", args()))
    assert [r.name for r in run.monitor.by_type(USER)] == ["atlas-orders-ingest-iam-user"]


def test_auditing_records_authentication_and_data_access_of_the_pipeline_users(
    run_component: Any,
) -> None:
    run = run_component(lambda: AtlasAccess("atlas", args()))
    auditing = run.monitor.one(AUDITING, "atlas-auditing")
    assert auditing.protect is False
    inputs = auditing.inputs
    assert (inputs["enabled"], inputs["auditAuthorizationSuccess"]) == (True, True)
    assert json.loads(inputs["auditFilter"]) == {
        "$or": [
            {"atype": "authenticate", "param.db": "$external", "param.user": {"$in": [ROLE_ARN]}},
            {
                "atype": "authCheck",
                "param.command": {
                    "$in": [
                        "aggregate",
                        "count",
                        "delete",
                        "distinct",
                        "find",
                        "findAndModify",
                        "getMore",
                        "insert",
                        "update",
                        "createIndexes",
                        "dropIndexes",
                        "listCollections",
                        "listIndexes",
                    ]
                },
                "users": {"$elemMatch": {"db": "$external", "user": {"$in": [ROLE_ARN]}}},
            },
        ]
    }


def test_auditing_is_protected_when_asked(run_component: Any) -> None:
    run = run_component(lambda: AtlasAccess("atlas", args(protect=True)))
    assert run.monitor.one(AUDITING, "atlas-auditing").protect is True
    assert not any(r.protect for r in run.monitor.registrations if r.type != AUDITING)
