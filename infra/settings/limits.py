"""Counting limits checked from settings, before any resource is registered.

How many Atlas users and custom roles a project gets, how many IAM roles the account gets and
how long a chained role session may be follow from the stack file alone, so they are reported
here like any other bad setting (with the key path and the fix), and `pulumi preview` fails the
same way as the offline plan. Sizes of rendered documents (IAM policies, MWAA option values) need
the rendered document: `infra/plan.py` measures them on the plan (see `components/limits.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components import limit_checks, limits
from components.access import AuthMode, Pipeline, Problem
from infra.settings.reader import Reader, integer

PROJECT_LIMIT_KEYS = {
    "databaseUsers": limits.ATLAS_USERS_PER_PROJECT,
    "customRoles": limits.ATLAS_CUSTOM_ROLES_PER_PROJECT,
}
MAX_CONCURRENT_LEASES = 100


def _project_limits(r: Reader, values: Mapping[str, Any]) -> dict[str, int]:
    """`atlasProjectLimits`: the limits this project was raised to (default: Atlas' defaults)."""
    result = {key: limit.value for key, limit in PROJECT_LIMIT_KEYS.items()}
    raw = values.get("atlasProjectLimits")
    if raw is None:
        return result
    if not isinstance(raw, dict):
        r.fail("atlasProjectLimits", "must be an object {databaseUsers, customRoles}")
        return result
    r.unknown_keys(raw, set(PROJECT_LIMIT_KEYS), "atlasProjectLimits")
    for key, limit in PROJECT_LIMIT_KEYS.items():
        if key not in raw:
            continue
        value = raw[key]
        maximum = limit.maximum or limit.value
        if not isinstance(value, int) or isinstance(value, bool):
            r.fail(f"atlasProjectLimits.{key}", f"'{value}' is not an integer")
        elif not limit.value <= value <= maximum:
            r.fail(
                f"atlasProjectLimits.{key}",
                f"{value} is outside {limit.value}..{maximum} (Atlas' default .. the most "
                f"{limit.raise_how.split(', then')[0]} accepts); declare the limit the project "
                "was raised to",
            )
        else:
            result[key] = value
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
    """Database users the project holds at once: one per identity-bound pipeline, and one per
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
) -> None:
    """Report every counting limit the settings exceed, at the key that drives it."""
    project = _project_limits(r, values)
    leases = concurrent_leases(r, values)
    role_quota = integer(
        r,
        values,
        "awsIamRoleQuota",
        limits.IAM_ROLES_PER_ACCOUNT.value,
        1,
        1_000_000,
    )
    where = f"Atlas project {project_id or '(atlasProjectId)'}"
    found = [
        (
            "pipelines",
            limits.exceeds(
                limits.ATLAS_USERS_PER_PROJECT,
                atlas_users(indexed, leases),
                allowed=project["databaseUsers"],
                subject=f"{where} database users",
                fix="spread the pipelines over more Atlas projects, lower "
                "pipelines[].concurrentLeases, or raise the limit "
                f"({limits.ATLAS_USERS_PER_PROJECT.raise_how}, at most "
                f"{limits.ATLAS_USERS_PER_PROJECT.maximum})",
            ),
        ),
        (
            "pipelines",
            limits.exceeds(
                limits.ATLAS_CUSTOM_ROLES_PER_PROJECT,
                len(indexed),
                allowed=project["customRoles"],
                subject=f"{where} custom roles (one per pipeline)",
                fix="spread the pipelines over more Atlas projects, or raise the limit "
                f"({limits.ATLAS_CUSTOM_ROLES_PER_PROJECT.raise_how}, at most "
                f"{limits.ATLAS_CUSTOM_ROLES_PER_PROJECT.maximum})",
            ),
        ),
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
    """Size limits measured on a plan (`infra.plan` JSON): rendered IAM policies and MWAA options.

    Measured here rather than in the program because the documents hold ARNs the provider
    computes: under `pulumi preview` they are unknown until the roles exist, under the offline
    plan's mocks they are formed exactly as AWS forms them. Reported under `pipelines`, the
    setting whose growth drives every one of these sizes.
    """
    resources = [
        limit_checks.Planned(type=str(r["type"]), urn=str(r["urn"]), props=r.get("inputs") or {})
        for r in plan.get("resources", [])
    ]
    return [
        Problem(path="pipelines", message=e.message)
        for e in limit_checks.documents_exceeded(resources, plan.get("outputs") or {})
    ]
