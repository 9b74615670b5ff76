"""AtlasAccess: custom roles limited to grants, IAM-role users without passwords, auditing."""

from __future__ import annotations

import json
from typing import Any

from components.atlas.access import (
    AtlasAccess,
    AtlasAccessArgs,
    AtlasPipelineSpec,
    VaultApiKeySpec,
)
from components.atlas.audit_filter import AUDITED_COMMANDS, iam_role_pattern
from model.access import Privilege

ROLE_ARN = "arn:aws:iam::123456789012:role/aai-test-pipeline-orders-ingest"
COMPONENT_URN = (
    "urn:pulumi:test::airflow-atlas-identity::airflow-atlas-identity:atlas:AtlasAccess::atlas"
)
CUSTOM_ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
USER = "mongodbatlas:index/databaseUser:DatabaseUser"
AUDITING = "mongodbatlas:index/auditing:Auditing"
API_KEY = "mongodbatlas:index/projectApiKey:ProjectApiKey"
HOME = "0123456789abcdef01234567"
OTHER = "89abcdef0123456789abcdef"
PATTERN = iam_role_pattern("123456789012", "aai-test-pipeline-")


def args(protect: bool = False) -> AtlasAccessArgs:
    return AtlasAccessArgs(
        stack="test",
        project_id=HOME,
        pipeline_role_pattern=PATTERN,
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
                project_id=HOME,
                iam_role_arn=ROLE_ARN,
            ),
            AtlasPipelineSpec(
                pipeline="report",
                role_name="aai-test-report",
                privileges=(Privilege(action="FIND", database="sales", collection=""),),
                cluster="analytics",
                project_id=HOME,
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
    # The pipeline users are matched by the stack's role-name pattern, never listed one by one.
    assert json.loads(inputs["auditFilter"]) == {
        "$or": [
            {"atype": "authenticate", "param.db": {"$in": ["$external", "admin"]}},
            {"atype": "authCheck", "result": {"$ne": 0}},
            {"atype": "authCheck", "param.command": {"$in": list(AUDITED_COMMANDS)}},
            {
                "atype": "authCheck",
                "users": {"$elemMatch": {"db": "$external", "user": {"$regex": PATTERN}}},
            },
        ]
    }
    assert ROLE_ARN not in inputs["auditFilter"]


def test_auditing_is_protected_when_asked(run_component: Any) -> None:
    run = run_component(lambda: AtlasAccess("atlas", args(protect=True)))
    assert run.monitor.one(AUDITING, "atlas-auditing").protect is True
    assert not any(r.protect for r in run.monitor.registrations if r.type != AUDITING)


def test_each_project_gets_its_own_roles_users_auditing_and_vault_key(run_component: Any) -> None:
    base = args()
    moved = AtlasPipelineSpec(
        pipeline="ledger",
        role_name="aai-test-ledger",
        privileges=(Privilege(action="FIND", database="finance", collection="ledger"),),
        cluster="finance",
        project_id=OTHER,
        vault_dynamic=True,
    )
    spread = AtlasAccessArgs(
        stack=base.stack,
        project_id=HOME,
        pipeline_role_pattern=PATTERN,
        pipelines=(*base.pipelines, moved),
        audit_authorization_success=True,
        vault_api_key=VaultApiKeySpec(
            org_id="5f0e1d2c3b4a596877665544", access_list=("10.0.0.1",), rotation_days=30
        ),
    )
    run = run_component(lambda: AtlasAccess("atlas", spread))
    assert run.monitor.one(CUSTOM_ROLE, "atlas-ledger-role").inputs["projectId"] == OTHER
    assert run.monitor.one(CUSTOM_ROLE, "atlas-report-role").inputs["projectId"] == HOME
    # The home project keeps its unqualified names; the other project's carry its id.
    assert sorted((r.name, r.inputs["projectId"]) for r in run.monitor.by_type(AUDITING)) == [
        (f"atlas-{OTHER}-auditing", OTHER),
        ("atlas-auditing", HOME),
    ]
    # Only the project with vault-dynamic pipelines gets an API key, assigned to it alone.
    keys = run.monitor.by_type(API_KEY)
    assert [k.name for k in keys] == [f"atlas-{OTHER}-vault-api-key"]
    assert keys[0].inputs["projectAssignments"] == [
        {"projectId": OTHER, "roleNames": ["GROUP_DATABASE_ACCESS_ADMIN"]}
    ]
    other_filter = json.loads(
        run.monitor.one(AUDITING, f"atlas-{OTHER}-auditing").inputs["auditFilter"]
    )
    assert {
        "atype": "authCheck",
        "users": {"$elemMatch": {"db": "admin", "user": {"$regex": "^v-"}}},
    } in other_filter["$or"]
