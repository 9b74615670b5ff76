"""Atlas clusters and pipelines with their grants: the access model as the stack file states it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from infra.settings.reader import ATLAS_ID, ATLAS_ID_HINT, Reader
from model import access, reserved
from model.access import AuthMode, Grant, Pipeline
from model.naming import Naming

SRV_HOST = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+\.mongodb\.net$")


def clusters(r: Reader, values: Mapping[str, Any]) -> dict[str, str]:
    """Cluster name -> SRV host."""
    clusters: dict[str, str] = {}
    raw = r.objects(values, "atlasClusters", "")
    if "atlasClusters" in values and not raw and isinstance(values["atlasClusters"], list):
        r.fail("atlasClusters", "must list at least one cluster: [{name, srvHost}]")
    for index, item in enumerate(raw):
        at = f"atlasClusters[{index}]"
        r.unknown_keys(item, {"name", "srvHost", "projectId"}, at)
        name = r.string(
            item,
            "name",
            at,
            pattern=re.compile(r"^[A-Za-z0-9-]{1,64}$"),
            hint="use the Atlas cluster name (letters, digits, '-')",
        )
        host = r.string(
            item,
            "srvHost",
            at,
            pattern=SRV_HOST,
            hint="use the SRV host from the Atlas connect dialog, e.g. core.ab1cd.mongodb.net",
        )
        if name and name in clusters:
            r.fail(f"{at}.name", f"duplicate cluster '{name}'; list each cluster once")
        elif name and host:
            clusters[name] = host
    return clusters


def cluster_projects(
    r: Reader, values: Mapping[str, Any], default_project: str | None
) -> dict[str, str]:
    """Cluster name -> the Atlas project it belongs to (`projectId`, default atlasProjectId).

    A project is the unit of scale: its custom roles, users, auditing and Vault's API key are its
    own, and Atlas' per-project limits apply to it (infra/settings/limits.py).
    """
    projects: dict[str, str] = {}
    raw = values.get("atlasClusters")
    if not isinstance(raw, list):
        return projects
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        project = r.string(
            item,
            "projectId",
            f"atlasClusters[{index}]",
            pattern=ATLAS_ID,
            hint=ATLAS_ID_HINT,
            default=default_project,
            # Without a valid atlasProjectId there is no default; that is reported already.
            required=default_project is not None,
        )
        if project:
            projects[item["name"]] = project
    return projects


_PIPELINE_KEYS = {
    "name",
    "authMode",
    "cluster",
    "defaultDatabase",
    "grants",
    "description",
    "concurrentLeases",  # checked by infra/settings/limits.py
}
_GRANT_KEYS = {"database", "collections", "access", "actions"}


def pipelines(
    r: Reader, values: Mapping[str, Any], *, naming: Naming
) -> list[tuple[int, Pipeline]]:
    result: list[tuple[int, Pipeline]] = []
    raw = r.objects(values, "pipelines", "")
    if "pipelines" in values and not raw and isinstance(values["pipelines"], list):
        r.fail("pipelines", "must list at least one pipeline")
    clusters = values.get("atlasClusters")
    only_cluster = (
        clusters[0].get("name")
        if isinstance(clusters, list) and len(clusters) == 1 and isinstance(clusters[0], dict)
        else None
    )
    for index, item in enumerate(raw):
        at = f"pipelines[{index}]"
        before = len(r.problems)
        r.unknown_keys(item, _PIPELINE_KEYS, at)
        name = r.string(
            item,
            "name",
            at,
            pattern=access.PIPELINE_NAME_PATTERN,
            hint="use lowercase letters, digits, '-' or '_', starting with a letter",
        )
        if name and len(name) > access.PIPELINE_NAME_MAX:
            r.fail(
                f"{at}.name",
                f"'{name}' is longer than {access.PIPELINE_NAME_MAX} characters; shorten it",
            )
        if name and reserved.collides(naming, name):
            r.fail(
                f"{at}.name",
                f"'{name}' is reserved: a name derived from it (Vault policy, Atlas role, ...) "
                "is one the program or the bootstrap uses for something else; rename the "
                f"pipeline (reserved: {', '.join(reserved.reserved_pipeline_names(naming))})",
            )
        mode = r.choice(item, "authMode", at, tuple(m.value for m in AuthMode))
        cluster = r.string(
            item,
            "cluster",
            at,
            default=only_cluster,
            hint="name one of atlasClusters (required when there are several)",
        )
        grants = [
            grant
            for g_index, g in enumerate(r.objects(item, "grants", at))
            if (grant := _grant(r, g, f"{at}.grants[{g_index}]")) is not None
        ]
        if isinstance(item.get("grants"), list) and not item["grants"]:
            r.fail(
                f"{at}.grants",
                "is empty; a pipeline needs at least one grant (database, collections, access)",
            )
        default_db = r.string(
            item,
            "defaultDatabase",
            at,
            default=grants[0].database if grants else None,
            required=False,
        )
        description = item.get("description", "")
        if not isinstance(description, str):
            r.fail(f"{at}.description", "must be a string")
        if len(r.problems) == before and name and mode and cluster and default_db:
            result.append(
                (
                    index,
                    Pipeline(
                        name=name,
                        auth_mode=AuthMode(mode),
                        cluster=cluster,
                        grants=tuple(grants),
                        default_database=default_db,
                        description=str(description),
                    ),
                )
            )
    return result


def _grant(r: Reader, item: Mapping[str, Any], at: str) -> Grant | None:
    before = len(r.problems)
    r.unknown_keys(item, _GRANT_KEYS, at)
    database = r.string(item, "database", at, hint=access.DATABASE_NAME_HINT)
    problem = access.database_problem(database) if database is not None else None
    if problem is not None:
        r.fail(f"{at}.database", problem)
    collections = r.strings(item, "collections", at)
    if collections is not None:
        if not collections:
            r.fail(f"{at}.collections", "is empty; list the collections, or '*' for all")
        for c_index, name in enumerate(collections):
            if name != access.WILDCARD and not access.COLLECTION_NAME_PATTERN.match(name):
                r.fail(
                    f"{at}.collections[{c_index}]",
                    f"'{name}' is not a valid collection name (no '$', not system.*)",
                )
        if access.WILDCARD in collections and len(collections) > 1:
            r.fail(f"{at}.collections", "'*' already means every collection; list '*' alone")
    actions = _grant_actions(r, item, at)
    if len(r.problems) > before or not (database and collections and actions):
        return None
    return Grant(database=database, collections=tuple(collections), actions=actions)


def _grant_actions(r: Reader, item: Mapping[str, Any], at: str) -> tuple[str, ...] | None:
    has_access, has_actions = "access" in item, "actions" in item
    presets = ", ".join(access.PRESETS)
    if has_access == has_actions:
        r.fail(
            at,
            f"set exactly one of access (a preset: {presets}) or actions (explicit Atlas actions)",
        )
        return None
    if has_access:
        preset = item["access"]
        if preset not in access.PRESETS:
            r.fail(
                f"{at}.access",
                f"'{preset}' is not a preset; use one of {presets}, or list explicit actions",
            )
            return None
        return access.resolve_actions(preset)
    actions = r.strings(item, "actions", at)
    if actions is None:
        return None
    if not actions:
        r.fail(f"{at}.actions", "is empty; list at least one action")
        return None
    ok = True
    for a_index, action in enumerate(actions):
        if action not in access.KNOWN_ACTIONS:
            ok = False
            r.fail(
                f"{at}.actions[{a_index}]",
                f"'{action}' is not a grantable Atlas action; use one of "
                f"{', '.join(sorted(access.KNOWN_ACTIONS))}",
            )
    return tuple(dict.fromkeys(actions)) if ok else None
