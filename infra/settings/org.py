"""Settings of the `org` stack: the Atlas organization's federation config, owned once.

An Atlas organization's federation config lists the workload identity providers allowed to grant
database access (`dataAccessIdentityProviderIds`). Several environment stacks share one
organization, so no environment stack may own that list: each would overwrite the others'. The
`org` stack (tier `org`, e.g. `Pulumi.org.yaml`) owns it and links the IdP every listed
environment stack exports as `atlasWorkloadIdpId` (docs/operations.md, "The org stack").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.access import Problem
from infra.settings.reader import ATLAS_ID, ATLAS_ID_HINT, Reader

ORG_TIER = "org"
# `<stack>`, `<project>/<stack>` or `<organization>/<project>/<stack>` (Pulumi stack names).
STACK_REFERENCE = re.compile(r"^([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+$")
ORG_KEYS = frozenset(
    {
        "tier",
        "atlasOrgId",
        "atlasFederationSettingsId",
        "atlasWorkloadIdpStacks",
        "atlasOtherDataAccessIdpIds",
    }
)
ORG_ONLY_KEYS = frozenset({"atlasWorkloadIdpStacks", "atlasOtherDataAccessIdpIds"})
# Keys environment stacks used while each of them managed the org config itself.
REMOVED_KEYS = {
    "atlasOrgConfigImported": "the org stack owns the Atlas org config now; remove this key "
    "(migration: docs/operations.md, 'The org stack')",
}


@dataclass(frozen=True, kw_only=True)
class OrgSettings:
    project: str
    stack: str
    atlas_org_id: str
    federation_settings_id: str
    idp_stacks: tuple[str, ...]
    """Stack references whose `atlasWorkloadIdpId` export is linked to the organization."""
    other_idp_ids: tuple[str, ...]
    """IdPs no stack of this project exports that must stay linked."""


def is_org(values: Mapping[str, Any]) -> bool:
    return values.get("tier") == ORG_TIER


def parse_org(values: Mapping[str, Any], *, project: str, stack: str) -> OrgSettings:
    """Validate the org stack's settings, or raise SettingsError (imported lazily: no cycle)."""
    from infra.settings import SettingsError

    problems: list[Problem] = []
    r = Reader(problems)
    for key in sorted(set(values) - ORG_KEYS):
        r.fail(key, f"does not apply to the org stack; it takes {', '.join(sorted(ORG_KEYS))}")
    org_id = r.string(values, "atlasOrgId", "", pattern=ATLAS_ID, hint=ATLAS_ID_HINT)
    federation = r.string(
        values, "atlasFederationSettingsId", "", pattern=ATLAS_ID, hint=ATLAS_ID_HINT
    )
    stacks = r.strings(values, "atlasWorkloadIdpStacks", "") or ()
    if "atlasWorkloadIdpStacks" in values and not stacks:
        r.fail("atlasWorkloadIdpStacks", "is empty; list the environment stacks to link")
    for index, name in enumerate(stacks):
        if not STACK_REFERENCE.match(name):
            r.fail(
                f"atlasWorkloadIdpStacks[{index}]",
                f"'{name}' is not a stack name; use <stack> or <organization>/<project>/<stack>",
            )
    if len(set(stacks)) != len(stacks):
        r.fail("atlasWorkloadIdpStacks", "lists a stack twice; list each stack once")
    others: tuple[str, ...] = ()
    if "atlasOtherDataAccessIdpIds" in values:
        others = r.strings(values, "atlasOtherDataAccessIdpIds", "") or ()
        for index, idp in enumerate(others):
            if not ATLAS_ID.match(idp):
                r.fail(
                    f"atlasOtherDataAccessIdpIds[{index}]",
                    f"'{idp}' is not valid; " + ATLAS_ID_HINT,
                )
    if problems or not (org_id and federation):
        raise SettingsError(problems)
    return OrgSettings(
        project=project,
        stack=stack,
        atlas_org_id=org_id,
        federation_settings_id=federation,
        idp_stacks=tuple(stacks),
        other_idp_ids=others,
    )


def environment_problems(values: Mapping[str, Any]) -> list[Problem]:
    """Org-level keys set in an environment stack, each with where it belongs now."""
    problems = [
        Problem(path=key, message=REMOVED_KEYS[key]) for key in REMOVED_KEYS if key in values
    ]
    problems += [
        Problem(
            path=key,
            message="belongs to the org stack (tier org), which owns the Atlas org config; "
            "move it there",
        )
        for key in sorted(ORG_ONLY_KEYS)
        if key in values
    ]
    return problems
