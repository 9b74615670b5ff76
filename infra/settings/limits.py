"""Counting limits checked from settings, before any resource is registered.

How many Atlas users and custom roles a project gets, how many IAM roles the account gets and
how long a chained role session may be follow from the stack file alone, so they are reported
here like any other bad setting (with the key path and the fix), and `pulumi preview` fails the
same way as the offline plan. Sizes of rendered documents (IAM policies, MWAA option values, Okta
names, Vault storage entries) need the rendered document: `devtools/plan.py` measures them on the
plan (see `model/limits/__init__.py`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from infra.settings.reader import Reader, integer
from model import limits
from model.access import AuthMode, Pipeline, Problem
from model.limits import checks as limit_checks

PROJECT_LIMIT_KEYS = {
    "databaseUsers": limits.ATLAS_USERS_PER_PROJECT,
    "customRoles": limits.ATLAS_CUSTOM_ROLES_PER_PROJECT,
}
MAX_CONCURRENT_LEASES = 100
# The setting a plan-measured limit is reported under when it is not `pipelines`: the Okta
# server's name grows with namePrefix (and the stack name, which is no setting).
PLAN_LIMIT_KEYS = {limits.OKTA_AUTH_SERVER_NAME.key: "namePrefix"}


def _limits(r: Reader, raw: Any, at: str) -> dict[str, int]:
    """One project's `{databaseUsers, customRoles}`; Atlas' defaults where not declared."""
    result = {key: limit.value for key, limit in PROJECT_LIMIT_KEYS.items()}
    if not isinstance(raw, dict):
        r.fail(at, "must be an object {databaseUsers, customRoles}")
        return result
    r.unknown_keys(raw, set(PROJECT_LIMIT_KEYS), at)
    for key, limit in PROJECT_LIMIT_KEYS.items():
        if key not in raw:
            continue
        value = raw[key]
        maximum = limit.maximum or limit.value
        if not isinstance(value, int) or isinstance(value, bool):
            r.fail(f"{at}.{key}", f"'{value}' is not an integer")
        elif not limit.value <= value <= maximum:
            r.fail(
                f"{at}.{key}",
                f"{value} is outside {limit.value}..{maximum} (Atlas' default .. the most "
                f"{limit.raise_how.split(', then')[0]} accepts); declare the limit the project "
                "was raised to",
            )
        else:
            result[key] = value
    return result


def project_limits(
    r: Reader, values: Mapping[str, Any], projects: Collection[str]
) -> dict[str, dict[str, int]]:
    """`atlasProjectLimits`: project id -> the limits it was raised to (default: Atlas' defaults).

    Keyed by project because Atlas counts per project; a key naming no project of the stack is a
    mistake (a typo would silently leave the real project at the defaults).
    """
    result = {project: _limits(r, {}, "") for project in projects}
    raw = values.get("atlasProjectLimits")
    if raw is None:
        return result
    if not isinstance(raw, dict):
        r.fail("atlasProjectLimits", "must map project ids to {databaseUsers, customRoles}")
        return result
    for project, declared in raw.items():
        at = f"atlasProjectLimits.{project}"
        if project in PROJECT_LIMIT_KEYS:
            r.fail(
                at,
                "limits are per Atlas project: write atlasProjectLimits: "
                "{<projectId>: {databaseUsers, customRoles}}",
            )
        elif project not in projects:
            r.fail(
                at,
                f"is not a project of this stack; use one of {', '.join(sorted(projects))} "
                "(atlasProjectId or atlasClusters[].projectId)",
            )
        else:
            result[project] = _limits(r, declared, at)
    return result


def concurrent_leases(r: Reader, values: Mapping[str, Any]) -> dict[int, int]:
    """pipelines[i].concurrentLeases by pipeline index (vault-dynamic pipelines only)."""
    leases: dict[int, int] = {}
    raw = values.get("pipelines")
    if not isinstance(raw, list):
        return leases
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or "concurrentLeases" not in item:
            continue
        at = f"pipelines[{index}].concurrentLeases"
        value = item["concurrentLeases"]
        if item.get("authMode") != AuthMode.VAULT_DYNAMIC.value:
            r.fail(at, "only applies to vault-dynamic pipelines; remove it")
        elif not isinstance(value, int) or isinstance(value, bool):
            r.fail(at, f"'{value}' is not an integer")
        elif not 1 <= value <= MAX_CONCURRENT_LEASES:
            r.fail(at, f"{value} is outside 1..{MAX_CONCURRENT_LEASES}")
        else:
            leases[index] = value
    return leases


def atlas_users(indexed: Sequence[tuple[int, Pipeline]], leases: Mapping[int, int]) -> int:
    """Database users the pipelines hold at once: one per identity-bound pipeline, and one per
    concurrent Vault lease of a vault-dynamic pipeline."""
    return sum(
        leases.get(index, limits.DEFAULT_CONCURRENT_LEASES)
        if pipeline.auth_mode is AuthMode.VAULT_DYNAMIC
        else 1
        for index, pipeline in indexed
    )


def check(
    r: Reader,
    values: Mapping[str, Any],
    *,
    indexed: Sequence[tuple[int, Pipeline]],
    session_seconds: int,
    project_id: str | None,
    cluster_projects: Mapping[str, str],
) -> None:
    """Report every counting limit the settings exceed, at the key that drives it."""
    projects = sorted({*cluster_projects.values(), *([project_id] if project_id else [])})
    declared = project_limits(r, values, projects)
    leases = concurrent_leases(r, values)
    role_quota = integer(
        r,
        values,
        "awsIamRoleQuota",
        limits.IAM_ROLES_PER_ACCOUNT.value,
        1,
        1_000_000,
    )
    found: list[tuple[str, limits.Exceeded | None]] = []
    for project in projects:
        members = [(i, p) for i, p in indexed if cluster_projects.get(p.cluster) == project]
        where = f"Atlas project {project}"
        found += [
            (
                "pipelines",
                limits.exceeds(
                    limits.ATLAS_USERS_PER_PROJECT,
                    atlas_users(members, leases),
                    allowed=declared[project]["databaseUsers"],
                    subject=f"{where} database users",
                    fix="spread the pipelines over more Atlas projects "
                    "(atlasClusters[].projectId), lower pipelines[].concurrentLeases, or raise "
                    f"the limit ({limits.ATLAS_USERS_PER_PROJECT.raise_how}, at most "
                    f"{limits.ATLAS_USERS_PER_PROJECT.maximum})",
                ),
            ),
            (
                "pipelines",
                limits.exceeds(
                    limits.ATLAS_CUSTOM_ROLES_PER_PROJECT,
                    len(members),
                    allowed=declared[project]["customRoles"],
                    subject=f"{where} custom roles (one per pipeline)",
                    fix="spread the pipelines over more Atlas projects "
                    "(atlasClusters[].projectId), or raise the limit "
                    f"({limits.ATLAS_CUSTOM_ROLES_PER_PROJECT.raise_how}, at most "
                    f"{limits.ATLAS_CUSTOM_ROLES_PER_PROJECT.maximum})",
                ),
            ),
        ]
    found += [
        (
            "pipelines",
            limits.exceeds(
                limits.IAM_ROLES_PER_ACCOUNT,
                len(indexed) + 1,
                allowed=role_quota,
                subject="IAM roles of this stack (execution role + one per pipeline)",
                fix="split the pipelines over more AWS accounts, or raise the quota "
                f"({limits.IAM_ROLES_PER_ACCOUNT.raise_how})",
            ),
        ),
        (
            "pipelineSessionSeconds",
            limits.exceeds(
                limits.STS_ROLE_CHAINING,
                session_seconds,
                subject="pipeline role session",
                fix=f"set pipelineSessionSeconds to at most {limits.STS_ROLE_CHAINING.value}; "
                "tasks re-assume the role when a session ends",
            ),
        ),
    ]
    reported = {p.path for p in r.problems}  # e.g. a session outside the tier's range already
    for path, exceeded in found:
        if exceeded is not None and path not in reported - {"pipelines"}:
            r.fail(path, exceeded.message)


def plan_problems(plan: Mapping[str, Any]) -> list[Problem]:
    """Size limits measured on a plan (`infra.plan` JSON): rendered IAM policies, MWAA options,
    Okta names and Vault storage entries.

    Measured here rather than in the program because the documents hold ARNs the provider
    computes: under `pulumi preview` they are unknown until the roles exist, under the offline
    plan's mocks they are formed exactly as AWS forms them. Reported under `pipelines`, the
    setting whose growth drives these sizes, or the key `PLAN_LIMIT_KEYS` names.
    """
    resources = [
        limit_checks.Planned(type=str(r["type"]), urn=str(r["urn"]), props=r.get("inputs") or {})
        for r in plan.get("resources", [])
    ]
    return [
        Problem(path=PLAN_LIMIT_KEYS.get(e.limit.key, "pipelines"), message=e.message)
        for e in limit_checks.documents_exceeded(resources, plan.get("outputs") or {})
    ]
