"""Access report: who gains access to what, as Markdown with a Mermaid identity chain.

    python -m infra.plan --stack prod --report prod.access.md
    python -m infra.snapshot            # writes snapshots/<stack>.access.md for every stack

Built from the offline plan JSON only (docs/plan-format.md), so it runs in any pull request without
cloud credentials. Actions come from the Atlas custom-role resources the plan declares (what Atlas
will enforce); pipeline, auth mode, identity and credential lifetime from the stack's
`accessMatrix` export. A custom role that no pipeline claims is listed separately, never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CUSTOM_ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
DATABASE_USER = "mongodbatlas:index/databaseUser:DatabaseUser"

LIFETIME_KIND = {
    "aws-iam": "STS session",
    "okta-oidc": "Okta access token",
    "vault-dynamic": "Vault lease",
}


@dataclass(frozen=True, kw_only=True)
class AccessRow:
    pipeline: str
    auth_mode: str
    identity: str
    custom_role: str
    project: str
    """The Atlas project the custom role (and so the grant) lives in."""
    cluster: str
    database: str
    collection: str
    """`*` for the whole database."""
    actions: tuple[str, ...]
    lifetime_seconds: int | None
    extra: Mapping[str, Any]
    """The matrix row as exported (Vault role, Okta client id, ... when the program adds them)."""


def role_grants(plan: Mapping[str, Any]) -> dict[str, dict[tuple[str, str], set[str]]]:
    """Custom role name -> (database, collection or `*`) -> actions, from the plan's resources."""
    grants: dict[str, dict[tuple[str, str], set[str]]] = {}
    for resource in plan.get("resources", []):
        if resource.get("type") != CUSTOM_ROLE:
            continue
        inputs = resource.get("inputs") or {}
        by_namespace = grants.setdefault(str(inputs.get("roleName", resource["name"])), {})
        for action in inputs.get("actions") or []:
            for target in action.get("resources") or []:
                namespace = (
                    str(target.get("databaseName", "")),
                    str(target.get("collectionName") or "*"),
                )
                by_namespace.setdefault(namespace, set()).add(str(action.get("action")))
    return grants


def role_projects(plan: Mapping[str, Any]) -> dict[str, str]:
    """Custom role name -> the Atlas project it is declared in."""
    return {
        str((r.get("inputs") or {}).get("roleName", r["name"])): str(
            (r.get("inputs") or {}).get("projectId", "")
        )
        for r in plan.get("resources", [])
        if r.get("type") == CUSTOM_ROLE
    }


def _users_by_role(plan: Mapping[str, Any]) -> dict[str, str]:
    users: dict[str, str] = {}
    for resource in plan.get("resources", []):
        if resource.get("type") != DATABASE_USER:
            continue
        inputs = resource.get("inputs") or {}
        for role in inputs.get("roles") or []:
            users.setdefault(str(role.get("roleName")), str(inputs.get("username", "")))
    return users


def access_rows(plan: Mapping[str, Any]) -> tuple[list[AccessRow], list[str]]:
    """Rows in pipeline order, plus the custom roles no pipeline claims."""
    grants = role_grants(plan)
    projects = role_projects(plan)
    users = _users_by_role(plan)
    matrix = plan.get("outputs", {}).get("accessMatrix") or []
    pipelines: dict[str, Mapping[str, Any]] = {}
    for row in matrix:
        pipelines.setdefault(str(row["pipeline"]), row)
    rows: list[AccessRow] = []
    for name, row in pipelines.items():
        role = str(row.get("customRole", ""))
        lifetime = row.get("credentialLifetimeSeconds")
        for (database, collection), actions in sorted(grants.get(role, {}).items()):
            rows.append(
                AccessRow(
                    pipeline=name,
                    auth_mode=str(row.get("authMode", "")),
                    identity=str(row.get("identity") or users.get(role, "")),
                    custom_role=role,
                    project=projects.get(role, ""),
                    cluster=str(row.get("cluster", "")),
                    database=database,
                    collection=collection,
                    actions=tuple(sorted(actions)),
                    lifetime_seconds=int(lifetime) if isinstance(lifetime, int | float) else None,
                    extra=row,
                )
            )
    claimed = {str(row.get("customRole", "")) for row in pipelines.values()}
    return rows, sorted(set(grants) - claimed)


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _label(*lines: str) -> str:
    """A quoted Mermaid label; quotes and angle brackets cannot appear raw inside one."""
    safe = [line.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") for line in lines]
    return '"' + "<br/>".join(safe) + '"'


def _node_id(*parts: object) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(str(p) for p in parts))


def _arn_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if arn.startswith("arn:") else arn


VAULT_AWS_LOGIN = "vault:aws/authBackendRole:AuthBackendRole"
VAULT_JWT_LOGIN = "vault:jwt/authBackendRole:AuthBackendRole"
VAULT_DB_ROLE = "vault:database/secretBackendRole:SecretBackendRole"


def _vault_chain(plan: Mapping[str, Any], pipeline: str) -> dict[str, str]:
    """The pipeline's Vault login and database role (Vault role names are pipeline names)."""
    found: dict[str, str] = {}
    for resource in plan.get("resources", []):
        inputs = resource.get("inputs") or {}
        backend = str(inputs.get("backend", ""))
        if resource.get("type") == VAULT_AWS_LOGIN and inputs.get("role") == pipeline:
            principals = inputs.get("boundIamPrincipalArns") or []
            found.setdefault("iam", str(principals[0]) if principals else "")
            found.setdefault("login", f"auth/{backend} role {pipeline}")
        elif resource.get("type") == VAULT_JWT_LOGIN and inputs.get("roleName") == pipeline:
            found.setdefault("subject", str(inputs.get("boundSubject") or ""))
            found.setdefault("login", f"auth/{backend} role {pipeline}")
        elif resource.get("type") == VAULT_DB_ROLE and inputs.get("name") == pipeline:
            found["database"] = f"Vault {backend}/creds/{pipeline}"
    return found


def mermaid(plan: Mapping[str, Any], rows: Sequence[AccessRow]) -> list[str]:
    """flowchart LR: Airflow -> identity (-> Vault / Okta) -> Atlas user -> custom role -> data."""
    outputs = plan.get("outputs", {})
    execution = str(outputs.get("executionRoleArn") or "")
    lines = [
        "```mermaid",
        "flowchart LR",
        f"  airflow[{_label('Airflow tasks (MWAA)', 'execution role ' + _arn_name(execution))}]",
    ]
    by_pipeline: dict[str, list[AccessRow]] = {}
    for row in rows:
        by_pipeline.setdefault(row.pipeline, []).append(row)
    for index, (pipeline, pipeline_rows) in enumerate(by_pipeline.items()):
        first = pipeline_rows[0]
        p = f"p{index}"
        life = duration(first.lifetime_seconds)
        lines.append(
            f"  subgraph {_node_id(p, 'box')}[{_label(pipeline + ' · ' + first.auth_mode)}]"
        )
        chain: list[tuple[str, str]] = []
        if first.auth_mode == "okta-oidc":
            client = str(first.extra.get("oktaClientId") or first.identity.rsplit("/", 1)[-1])
            chain += [
                (f"{p}_app", _label("Okta service app", f"client {client}", "private_key_jwt")),
                (f"{p}_token", _label("Okta access token", f"≤ {life}")),
                (f"{p}_user", _label("Atlas OIDC user ($external)", first.identity)),
            ]
        elif first.auth_mode == "vault-dynamic":
            vault = _vault_chain(plan, pipeline)
            role_arn = str(first.extra.get("roleArn") or vault.get("iam") or "")
            if role_arn:
                chain.append((f"{p}_iam", _label("IAM role", _arn_name(role_arn))))
            elif vault.get("subject"):
                chain.append((f"{p}_app", _label("Okta service app", f"client {vault['subject']}")))
            login = vault.get("login") or str(first.extra.get("vaultRole") or pipeline)
            database = vault.get("database") or "Vault database role"
            chain += [
                (f"{p}_vault", _label("Vault login role", login)),
                (f"{p}_lease", _label(database, f"lease ≤ {life}")),
                (f"{p}_user", _label("dynamic Atlas user", "deleted when the lease ends")),
            ]
        else:
            chain += [
                (f"{p}_iam", _label("IAM role", _arn_name(first.identity), f"session ≤ {life}")),
                (f"{p}_user", _label("Atlas user ($external)", "MONGODB-AWS")),
            ]
        chain.append((f"{p}_role", _label("custom role", first.custom_role, first.cluster)))
        for node, label in chain:
            lines.append(f"    {node}[{label}]")
        for n_index, row in enumerate(pipeline_rows):
            namespace = f"{row.database}.{row.collection}"
            lines.append(f"    {p}_ns{n_index}[({_label(namespace, ', '.join(row.actions))})]")
        lines.append("  end")
        previous = "airflow"
        for node, _ in chain:
            lines.append(f"  {previous} --> {node}")
            previous = node
        for n_index in range(len(pipeline_rows)):
            lines.append(f"  {p}_role --> {p}_ns{n_index}")
    lines.append("```")
    return lines


def access_report(plan: Mapping[str, Any]) -> str:
    """The Markdown report of one planned stack (deterministic: same plan, same bytes)."""
    rows, unclaimed = access_rows(plan)
    outputs = plan.get("outputs", {})
    title = f"{plan.get('project', '')}/{plan.get('stack', '')}"
    if outputs.get("tier") == "org":
        return _org_report(title, outputs)
    lines = [
        f"# Access report: {title}",
        "",
        "Generated from the offline plan by `python -m infra.snapshot`; do not edit by hand.",
        f"Tier: `{outputs.get('tier', 'unknown')}`. "
        f"{len({r.pipeline for r in rows})} pipelines, {len(rows)} grants. "
        "No pipeline holds a password or a long-lived credential.",
        *(
            [
                "Okta client ids, and the okta-oidc user names built from them, are the offline "
                "engine's stand-ins (Okta assigns the real ones): after a deploy, the stack's "
                "`oktaClientIds` output has them."
            ]
            if any(row.auth_mode == "okta-oidc" for row in rows)
            else []
        ),
        "",
        "## Who can do what",
    ]
    # Grouped by Atlas project: roles, users, limits and auditing are per project.
    for project in sorted({row.project for row in rows}):
        lines += _grants_table(project, [row for row in rows if row.project == project])
    if unclaimed:
        lines += [
            "",
            "**Custom roles no pipeline claims** (review: who holds these?): "
            + ", ".join(f"`{r}`" for r in unclaimed),
        ]
    lines += ["", "## Identity chain", "", *mermaid(plan, rows), ""]
    lines += _airflow_section(outputs)
    protected = sorted(
        str(r["urn"]).split("::")[-1] for r in plan.get("resources", []) if r.get("protect")
    )
    lines += [
        "## Protected resources",
        "",
        ", ".join(f"`{p}`" for p in protected) if protected else "none",
        "",
    ]
    return "\n".join(lines)


def _org_report(title: str, outputs: Mapping[str, Any]) -> str:
    """The org stack grants no data access itself: it says which workload IdPs may."""
    linked = outputs.get("dataAccessIdpIds") or []
    created = outputs.get("workloadIdpIds") or {}
    return "\n".join(
        [
            f"# Access report: {title}",
            "",
            "Generated from the offline plan by `python -m infra.snapshot`; do not edit by hand.",
            "Tier: `org`. The workload identity providers this stack creates, one per environment "
            "(each environment's pipelines are in its own report; the ids are the offline "
            "engine's stand-ins, Atlas assigns the real ones):",
            "",
            *(f"- `{stack}`: `{idp}`" for stack, idp in sorted(created.items())),
            "",
            "The Atlas organization's federation config: these identity providers may grant "
            "database access.",
            "",
            *(f"- `{idp}`" for idp in linked),
            "",
        ]
    )


def _grants_table(project: str, rows: Sequence[AccessRow]) -> list[str]:
    pipelines = len({row.pipeline for row in rows})
    lines = [
        "",
        f"### Atlas project `{project or 'unknown'}` ({pipelines} pipelines)",
        "",
        "| pipeline | database.collection | actions | auth mode | identity | credential lifetime |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        kind = LIFETIME_KIND.get(row.auth_mode, "credential")
        lines.append(
            "| "
            + " | ".join(
                _cell(c)
                for c in (
                    row.pipeline,
                    f"`{row.database}.{row.collection}`",
                    ", ".join(row.actions),
                    row.auth_mode,
                    f"`{row.identity}`" if row.identity else "-",
                    f"{kind} ≤ {duration(row.lifetime_seconds)}",
                )
            )
            + " |"
        )
    return lines


def _airflow_section(outputs: Mapping[str, Any]) -> list[str]:
    options = outputs.get("airflowConfigurationOptions")
    if not isinstance(options, Mapping):
        return []
    lines = ["## Airflow secrets backend", ""]
    for key in sorted(options):
        lines.append(f"- `{key}` = `{options[key]}`")
    ids = outputs.get("connectionIds")
    if isinstance(ids, Mapping):
        lines.append(f"- connection ids: {', '.join(f'`{ids[k]}`' for k in sorted(ids))}")
    lines.append("")
    return lines
