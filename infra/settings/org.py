"""Settings of the `org` stack: the Atlas organization's federation config, owned once.

An Atlas organization's federation config lists the workload identity providers allowed to grant
database access (`dataAccessIdentityProviderIds`). Several environment stacks share one
organization, so no environment stack may own that list: each would overwrite the others'. The
`org` stack (tier `org`, e.g. `Pulumi.org.yaml`) owns it, and creates the workload IdP of every
environment stack listed in `atlasWorkloadIdps`: Atlas lets only an Organization Owner create one,
so environment deployers need no organization role (docs/operations.md, "The org stack").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.atlas.org import WorkloadIdpSpec
from infra.settings.namespaces import first_order, namespace_problems
from infra.settings.okta import AUDIENCE
from infra.settings.reader import ATLAS_ID, ATLAS_ID_HINT, Reader
from model.access import Problem
from model.limits import ATLAS_IDP_NAME

ORG_TIER = "org"
# A Pulumi stack name (the environment stack an IdP belongs to; the org stack's output key).
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# Atlas' displayName limit (model/limits/__init__.py, ATLAS_IDP_NAME), no edge whitespace.
IDP_NAME = re.compile(rf"^\S(.{{0,{ATLAS_IDP_NAME.value - 2}}}\S)?$")
ISSUER = re.compile(r"^https://[^\s/]+(/\S*)?$")
ORG_KEYS = frozenset(
    {
        "tier",
        "atlasOrgId",
        "atlasFederationSettingsId",
        "atlasWorkloadIdps",
        "atlasOtherDataAccessIdpIds",
    }
)
IDP_KEYS = frozenset({"stack", "name", "issuerUri", "audience"})
# Keys an environment stack may no longer set, each with where it belongs now.
ENVIRONMENT_REFUSED = {
    "atlasOrgConfigImported": "the org stack owns the Atlas org config now; remove this key "
    "(migration: docs/operations.md, 'The org stack')",
    "atlasFederationSettingsId": "the org stack creates the workload IdP now (creating one needs "
    "Atlas Organization Owner); remove this key and set atlasWorkloadIdpId to the id the org "
    "stack exports (migration: docs/operations.md, 'The org stack')",
    "atlasWorkloadIdps": "belongs to the org stack (tier org), which creates the workload IdPs; "
    "move it there",
    "atlasOtherDataAccessIdpIds": "belongs to the org stack (tier org), which owns the Atlas org "
    "config; move it there",
    "atlasWorkloadIdpStacks": "belongs to the org stack, where atlasWorkloadIdps replaces it; "
    "remove it",
}
ORG_ONLY_KEYS = frozenset(
    {"atlasFederationSettingsId", "atlasWorkloadIdps", "atlasOtherDataAccessIdpIds"}
)
ORG_REFUSED = {
    "atlasWorkloadIdpStacks": "replaced by atlasWorkloadIdps: one entry per environment stack "
    "with its stack, name, issuerUri and audience (`pulumi stack output --stack <env> "
    "atlasWorkloadIdp`); docs/operations.md, 'The org stack'",
}

# An environment's entry before its first deploy: its Okta server, hence its issuer, does not exist
# yet. The org stack creates no IdP for it and says so; the entry is completed after that deploy
# (docs/operations.md, "The org stack").
PENDING = "pending"

# Keys no longer in the settings table that are still read, to say where they went.
REMOVED_KEYS = frozenset({"atlasOrgConfigImported", "atlasWorkloadIdpStacks"})


@dataclass(frozen=True, kw_only=True)
class OrgSettings:
    project: str
    stack: str
    atlas_org_id: str
    federation_settings_id: str
    workload_idps: tuple[WorkloadIdpSpec, ...]
    """One per environment stack with okta-oidc pipelines; each is created and linked."""
    pending_stacks: tuple[str, ...] = ()
    """Environments listed with `issuerUri: pending`: their Okta server does not exist yet."""
    other_idp_ids: tuple[str, ...]
    """IdPs this project does not create that must stay linked."""


def is_org(values: Mapping[str, Any]) -> bool:
    return values.get("tier") == ORG_TIER


def parse_org(
    values: Mapping[str, Any],
    *,
    project: str,
    stack: str,
    providers: Mapping[Any, Any] | None = None,
) -> OrgSettings:
    """Validate the org stack's settings, or raise SettingsError (imported lazily: no cycle).

    `providers`: the stack's keys outside the project's namespace, each checked; None: unchecked.
    """
    from infra.settings import SettingsError

    problems: list[Problem] = []
    r = Reader(problems)
    if providers is not None:
        problems.extend(namespace_problems(providers, project=project))
    for key in sorted(set(values) - ORG_KEYS):
        r.fail(
            key,
            ORG_REFUSED.get(key)
            or f"does not apply to the org stack; it takes {', '.join(sorted(ORG_KEYS))}",
        )
    org_id = r.string(values, "atlasOrgId", "", pattern=ATLAS_ID, hint=ATLAS_ID_HINT)
    federation = r.string(
        values, "atlasFederationSettingsId", "", pattern=ATLAS_ID, hint=ATLAS_ID_HINT
    )
    idps, pending = _workload_idps(r, values)
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
        raise SettingsError(first_order(problems, providers, project=project))
    return OrgSettings(
        project=project,
        stack=stack,
        atlas_org_id=org_id,
        federation_settings_id=federation,
        workload_idps=idps,
        pending_stacks=pending,
        other_idp_ids=others,
    )


def _workload_idps(
    r: Reader, values: Mapping[str, Any]
) -> tuple[tuple[WorkloadIdpSpec, ...], tuple[str, ...]]:
    """(the IdPs to create, the stacks whose entry is still `pending`)."""
    if "atlasWorkloadIdps" not in values:
        return (), ()
    found: list[WorkloadIdpSpec] = []
    pending: list[str] = []
    for index, raw in enumerate(r.objects(values, "atlasWorkloadIdps", "")):
        at = f"atlasWorkloadIdps[{index}]"
        r.unknown_keys(raw, set(IDP_KEYS), at)
        stack = r.string(raw, "stack", at, pattern=STACK_NAME, hint="use the stack's name")
        name = r.string(
            raw,
            "name",
            at,
            pattern=IDP_NAME,
            hint=f"use 1 to {ATLAS_IDP_NAME.value} characters (Atlas displayName)",
        )
        issuer = (
            PENDING
            if raw.get("issuerUri") == PENDING
            else r.string(
                raw,
                "issuerUri",
                at,
                pattern=ISSUER,
                hint=f"use the stack's oktaIssuer output, an https URL (or {PENDING} before "
                "the stack's first deploy)",
            )
        )
        audience = r.string(
            raw, "audience", at, pattern=AUDIENCE, hint="use the stack's oktaAudience, a URI"
        )
        if stack and name and issuer == PENDING and audience:
            pending.append(stack)
        elif stack and name and issuer and audience:
            found.append(
                WorkloadIdpSpec(stack=stack, name=name, issuer_uri=issuer, audience=audience)
            )
    for field, seen in (
        ("stack", [idp.stack for idp in found] + pending),
        ("name", [idp.name for idp in found]),
    ):
        for duplicate in sorted({v for v in seen if seen.count(v) > 1}):
            r.fail("atlasWorkloadIdps", f"{field} '{duplicate}' is listed twice; list it once")
    return tuple(found), tuple(pending)


def environment_problems(values: Mapping[str, Any]) -> list[Problem]:
    """Org-level keys set in an environment stack, each with where it belongs now."""
    return [
        Problem(path=key, message=message)
        for key, message in ENVIRONMENT_REFUSED.items()
        if key in values
    ]
