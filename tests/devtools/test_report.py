"""The Markdown access report: rows from the custom-role resources, chains per auth mode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools import plan as offline_plan
from devtools.report import access_report, access_rows, duration, mermaid
from tests.paths import ROOT

# The prod plan as the aws-iam-only program declared it, frozen: exact expectations stay valid
# while the committed stacks grow (their reports are checked by the snapshot tests).
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "prod-aws-iam.plan.json"


def prod_plan() -> dict[str, Any]:
    return dict(json.loads(FIXTURE.read_text()))


def test_prod_table_rows_are_exact() -> None:
    rows, unclaimed = access_rows(prod_plan())
    assert unclaimed == []
    assert [
        (r.pipeline, f"{r.database}.{r.collection}", ",".join(r.actions), r.lifetime_seconds)
        for r in rows
    ] == [
        ("orders-ingest", "reference.currencies", "COLL_STATS,FIND,LIST_INDEXES", 900),
        (
            "orders-ingest",
            "sales.order_items",
            "COLL_STATS,FIND,INSERT,LIST_INDEXES,REMOVE,UPDATE",
            900,
        ),
        ("orders-ingest", "sales.orders", "COLL_STATS,FIND,INSERT,LIST_INDEXES,REMOVE,UPDATE", 900),
        (
            "customer-sync",
            "crm.customers",
            "COLL_STATS,FIND,INSERT,LIST_INDEXES,REMOVE,UPDATE",
            900,
        ),
        ("customer-sync", "sales.orders", "COLL_STATS,FIND,LIST_INDEXES", 900),
        ("revenue-report", "analytics.daily_revenue", "FIND,INSERT,UPDATE", 900),
        ("revenue-report", "sales.orders", "COLL_STATS,FIND,LIST_INDEXES", 900),
        ("revenue-report", "sales.refunds", "COLL_STATS,FIND,LIST_INDEXES", 900),
        ("events-archive", "archive.events_2026", "INSERT", 900),
    ]
    assert {r.identity for r in rows if r.pipeline == "events-archive"} == {
        "arn:aws:iam::987654321098:role/aai-prod-pipeline-events-archive"
    }


def test_actions_come_from_the_custom_role_resource_not_the_export() -> None:
    """If the export and what Atlas will enforce disagree, the report shows the enforced role."""
    plan = prod_plan()
    role = next(
        r for r in plan["resources"] if r["inputs"].get("roleName") == "aai-prod-events-archive"
    )
    role["inputs"]["actions"].append(
        {
            "action": "REMOVE",
            "resources": [{"databaseName": "archive", "collectionName": "events_2026"}],
        }
    )
    rows, _ = access_rows(plan)
    assert [r.actions for r in rows if r.pipeline == "events-archive"] == [("INSERT", "REMOVE")]


def test_unclaimed_custom_roles_are_listed() -> None:
    plan = prod_plan()
    plan["resources"].append(
        {
            "urn": "urn:x::mongodbatlas:index/customDbRole:CustomDbRole::stray",
            "type": "mongodbatlas:index/customDbRole:CustomDbRole",
            "name": "stray",
            "inputs": {"roleName": "stray-role", "actions": []},
        }
    )
    assert access_rows(plan)[1] == ["stray-role"]
    assert "**Custom roles no pipeline claims** (review: who holds these?): `stray-role`" in (
        access_report(plan)
    )


def test_report_shape() -> None:
    report = access_report(prod_plan()).splitlines()
    assert report[0] == "# Access report: airflow-atlas-identity/prod"
    assert (
        "| events-archive | `archive.events_2026` | INSERT | aws-iam | "
        "`arn:aws:iam::987654321098:role/aai-prod-pipeline-events-archive` | STS session ≤ 15 min |"
    ) in report
    assert report.count("```mermaid") == 1
    assert "  airflow --> p3_iam" in report
    assert "`identity-atlas-auditing`, `identity-mwaa-environment`" in report


def _row(pipeline: str, mode: str, identity: str, lifetime: int, **extra: Any) -> dict[str, Any]:
    return {
        "pipeline": pipeline,
        "authMode": mode,
        "identity": identity,
        "customRole": f"role-{pipeline}",
        "cluster": "core",
        "database": "sales",
        "collection": "orders",
        "actions": ["FIND"],
        "credentialLifetimeSeconds": lifetime,
        **extra,
    }


def test_okta_and_vault_chains() -> None:
    plan = {
        "project": "p",
        "stack": "s",
        "resources": [
            {
                "urn": f"urn:x::role-{p}",
                "type": "mongodbatlas:index/customDbRole:CustomDbRole",
                "name": p,
                "inputs": {
                    "roleName": f"role-{p}",
                    "actions": [
                        {
                            "action": "FIND",
                            "resources": [{"databaseName": "sales", "collectionName": "orders"}],
                        }
                    ],
                },
            }
            for p in ("events", "reports")
        ],
        "outputs": {
            "executionRoleArn": "arn:aws:iam::1:role/exec",
            "accessMatrix": [
                _row("events", "okta-oidc", "idp1/0oa1", 600),
                _row(
                    "reports",
                    "vault-dynamic",
                    "vault:database/creds/reports",
                    300,
                    roleArn="arn:aws:iam::1:role/aai-s-pipeline-reports",
                    vaultRole="reports",
                ),
            ],
        },
    }
    rows, _ = access_rows(plan)
    assert mermaid(plan, rows) == [
        "```mermaid",
        "flowchart LR",
        '  airflow["Airflow tasks (MWAA)<br/>execution role exec"]',
        '  subgraph p0_box["events · okta-oidc"]',
        '    p0_app["Okta service app<br/>client 0oa1<br/>private_key_jwt"]',
        '    p0_token["Okta access token<br/>≤ 10 min"]',
        '    p0_user["Atlas OIDC user ($external)<br/>idp1/0oa1"]',
        '    p0_role["custom role<br/>role-events<br/>core"]',
        '    p0_ns0[("sales.orders<br/>FIND")]',
        "  end",
        "  airflow --> p0_app",
        "  p0_app --> p0_token",
        "  p0_token --> p0_user",
        "  p0_user --> p0_role",
        "  p0_role --> p0_ns0",
        '  subgraph p1_box["reports · vault-dynamic"]',
        '    p1_iam["IAM role<br/>aai-s-pipeline-reports"]',
        '    p1_vault["Vault login role<br/>reports"]',
        '    p1_lease["Vault database role<br/>lease ≤ 5 min"]',
        '    p1_user["dynamic Atlas user<br/>deleted when the lease ends"]',
        '    p1_role["custom role<br/>role-reports<br/>core"]',
        '    p1_ns0[("sales.orders<br/>FIND")]',
        "  end",
        "  airflow --> p1_iam",
        "  p1_iam --> p1_vault",
        "  p1_vault --> p1_lease",
        "  p1_lease --> p1_user",
        "  p1_user --> p1_role",
        "  p1_role --> p1_ns0",
        "```",
    ]
    table = access_report(plan)
    assert (
        "| events | `sales.orders` | FIND | okta-oidc | `idp1/0oa1` | Okta access token ≤ 10 min |"
        in table
    )
    assert (
        "| reports | `sales.orders` | FIND | vault-dynamic | `vault:database/creds/reports` | "
        "Vault lease ≤ 5 min |" in table
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "unknown"), (45, "45 s"), (900, "15 min"), (7200, "2 h"), (5400, "90 min")],
)
def test_duration(seconds: int | None, text: str) -> None:
    assert duration(seconds) == text


def test_mermaid_labels_escape_quotes_and_brackets() -> None:
    plan = {
        "resources": [],
        "outputs": {"executionRoleArn": 'arn:aws:iam::1:role/a"<b>'},
    }
    assert (
        mermaid(plan, [])[2]
        == '  airflow["Airflow tasks (MWAA)<br/>execution role a#quot;#lt;b#gt;"]'
    )


def test_plan_cli_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dev.md"
    assert offline_plan.main(["--stack", "dev", "--report", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert out.read_text() == (ROOT / "snapshots" / "dev.access.md").read_text()


def test_vault_chain_is_read_from_the_vault_resources() -> None:
    """Vault role names are pipeline names: the AWS login names the IAM role, the database role
    its mount."""

    def res(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"urn": f"urn:x::{name}", "type": type_, "name": name, "inputs": inputs}

    plan = {
        "resources": [
            res(
                "vault:aws/authBackendRole:AuthBackendRole",
                "login",
                {
                    "backend": "aai-aws",
                    "role": "recon",
                    "boundIamPrincipalArns": ["arn:aws:iam::1:role/p-recon"],
                },
            ),
            res(
                "vault:database/secretBackendRole:SecretBackendRole",
                "db",
                {"backend": "aai-atlas", "name": "recon", "maxTtl": 3600},
            ),
        ],
        "outputs": {"executionRoleArn": "arn:aws:iam::1:role/exec"},
    }
    rows, _ = access_rows({**plan, "outputs": {}})
    assert rows == []
    from devtools.report import AccessRow

    row = AccessRow(
        pipeline="recon",
        auth_mode="vault-dynamic",
        identity="vault:aai-atlas/creds/recon",
        custom_role="r",
        project="p",
        cluster="core",
        database="fin",
        collection="ledger",
        actions=("FIND",),
        lifetime_seconds=3600,
        extra={},
    )
    assert mermaid(plan, [row])[4:8] == [
        '    p0_iam["IAM role<br/>p-recon"]',
        '    p0_vault["Vault login role<br/>auth/aai-aws role recon"]',
        '    p0_lease["Vault aai-atlas/creds/recon<br/>lease ≤ 1 h"]',
        '    p0_user["dynamic Atlas user<br/>deleted when the lease ends"]',
    ]
