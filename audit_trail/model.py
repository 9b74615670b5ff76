"""The stack's model as the evidence needs it, read from the stack's offline plan JSON.

The plan is `python -m infra.plan --stack NAME --json PATH` or its committed snapshot
`snapshots/<stack>.plan.json` (docs/plan-format.md; the snapshot holds JSON documents expanded
under `{"__json__": ...}`, both forms are read). Nothing here imports the program: the plan is
the contract.

- exports `accessMatrix` (pipeline, auth mode, identity, custom role, cluster, grants,
  credential lifetime), `pipelineRoleArns` and `connectionIds`;
- Atlas `DatabaseUser` and `CustomDbRole` resources: the Atlas user, its auth database and the
  project each pipeline's user or custom role (which Vault's users hold) lives in;
- Vault database mounts (`vault.Mount` of type `database`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCESS_MATRIX = "accessMatrix"
AUTH_MODES = ("aws-iam", "okta-oidc", "vault-dynamic")
DATABASE_USER = "mongodbatlas:index/databaseUser:DatabaseUser"
CUSTOM_DB_ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
VAULT_MOUNT = "vault:index/mount:Mount"
VAULT_IDENTITY_PREFIX = "vault:"


class PlanError(ValueError):
    """The plan file cannot serve as the stack's model; the message says why."""


@dataclass(frozen=True, kw_only=True)
class Pipeline:
    """One pipeline: who it is in Atlas and AWS, and how long its credential lives."""

    name: str
    auth_mode: str
    role_arn: str
    atlas_user: str | None
    """The Atlas user (role ARN, `<idp>/<client id>`); None for vault-dynamic."""
    atlas_db: str
    custom_role: str
    project_id: str | None
    cluster: str
    vault_creds_path: str | None
    """`<mount>/creds/<role>` for vault-dynamic."""
    credential_seconds: int
    connection_id: str


@dataclass(frozen=True, kw_only=True)
class Grant:
    pipeline: str
    database: str
    collection: str
    """A collection, or `*` for every collection of the database."""


@dataclass(frozen=True, kw_only=True)
class StackModel:
    project: str
    stack: str
    pipelines: tuple[Pipeline, ...]
    grants: tuple[Grant, ...]
    vault_database_mounts: tuple[Mapping[str, Any], ...]
    """The inputs of every Vault database mount the plan declares."""


def expanded(value: Any) -> Any:
    """A plan value with `{"__json__": x}` (snapshot form) replaced by `x`, recursively."""
    if isinstance(value, Mapping):
        if set(value) == {"__json__"}:
            return expanded(value["__json__"])
        return {k: expanded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expanded(v) for v in value]
    return value


def read_plan(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PlanError(f"{path}: cannot read the plan ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise PlanError(f"{path}:{error.lineno}: not JSON ({error.msg})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("outputs"), dict):
        raise PlanError(f"{path}: not a plan (docs/plan-format.md): no `outputs` object")
    plan: dict[str, Any] = expanded(raw)
    return plan


def _resources(plan: Mapping[str, Any], type_token: str) -> list[Mapping[str, Any]]:
    return [r.get("inputs") or {} for r in plan.get("resources", []) if r.get("type") == type_token]


def _projects_by_role(plan: Mapping[str, Any]) -> dict[str, str]:
    """Custom role name -> the Atlas project it is declared in."""
    return {
        str(r["roleName"]): str(r["projectId"])
        for r in _resources(plan, CUSTOM_DB_ROLE)
        if r.get("roleName") and r.get("projectId")
    }


def _users(plan: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Atlas user name -> its DatabaseUser inputs."""
    return {str(r["username"]): r for r in _resources(plan, DATABASE_USER) if r.get("username")}


def _pipeline(
    row: Mapping[str, Any],
    *,
    role_arns: Mapping[str, Any],
    connection_ids: Mapping[str, Any],
    users: Mapping[str, Mapping[str, Any]],
    role_projects: Mapping[str, str],
) -> Pipeline:
    name = str(row["pipeline"])
    mode = str(row["authMode"])
    identity = str(row["identity"])
    vault_path = (
        identity.removeprefix(VAULT_IDENTITY_PREFIX)
        if identity.startswith(VAULT_IDENTITY_PREFIX)
        else None
    )
    user = users.get(identity) if vault_path is None else None
    project = (user or {}).get("projectId") or role_projects.get(str(row["customRole"]))
    return Pipeline(
        name=name,
        auth_mode=mode,
        role_arn=str(role_arns.get(name, "")),
        # Only a user the plan declares exists: an okta-oidc pipeline whose workload IdP is still
        # pending has none, and anything authenticating as it is an unknown user.
        atlas_user=identity if user is not None else None,
        atlas_db=str(
            (user or {}).get("authDatabaseName") or ("admin" if vault_path else "$external")
        ),
        custom_role=str(row["customRole"]),
        project_id=str(project) if project else None,
        cluster=str(row["cluster"]),
        vault_creds_path=vault_path,
        credential_seconds=int(row["credentialLifetimeSeconds"]),
        connection_id=str(connection_ids.get(name, row.get("connectionId", ""))),
    )


def stack_model(plan: Mapping[str, Any], *, source: str = "plan") -> StackModel:
    """The model of an environment stack's plan; PlanError when it has no access matrix."""
    outputs = plan.get("outputs") or {}
    rows: Sequence[Mapping[str, Any]] = outputs.get(ACCESS_MATRIX) or []
    if ACCESS_MATRIX not in outputs:
        raise PlanError(
            f"{source}: stack {plan.get('stack')!r} exports no {ACCESS_MATRIX} (tier "
            f"{outputs.get('tier')!r}); use the plan of an environment stack"
        )
    users, role_projects = _users(plan), _projects_by_role(plan)
    pipelines: dict[str, Pipeline] = {}
    grants: list[Grant] = []
    for row in rows:
        mode = str(row.get("authMode"))
        if mode not in AUTH_MODES:
            raise PlanError(
                f"{source}: {ACCESS_MATRIX} row of {row.get('pipeline')!r} has "
                f"auth mode {mode!r}; expected one of {', '.join(AUTH_MODES)}"
            )
        pipeline = _pipeline(
            row,
            role_arns=outputs.get("pipelineRoleArns") or {},
            connection_ids=outputs.get("connectionIds") or {},
            users=users,
            role_projects=role_projects,
        )
        pipelines.setdefault(pipeline.name, pipeline)
        grants.append(
            Grant(
                pipeline=pipeline.name,
                database=str(row["database"]),
                collection=str(row["collection"]),
            )
        )
    mounts = tuple(m for m in _resources(plan, VAULT_MOUNT) if str(m.get("type")) == "database")
    return StackModel(
        project=str(plan.get("project", "")),
        stack=str(plan.get("stack", "")),
        pipelines=tuple(sorted(pipelines.values(), key=lambda p: p.name)),
        grants=tuple(grants),
        vault_database_mounts=mounts,
    )


def load(path: Path, *, stack: str) -> StackModel:
    """The model of `stack` from the plan at `path`; PlanError when it is not that stack's."""
    plan = read_plan(path)
    if plan.get("stack") != stack:
        raise PlanError(
            f"{path}: this is the plan of stack {plan.get('stack')!r}, not {stack!r}; pass "
            f"--plan with the plan of {stack} (python -m infra.plan --stack {stack} --json PATH)"
        )
    return stack_model(plan, source=str(path))
