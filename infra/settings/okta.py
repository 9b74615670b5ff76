"""Okta workload identity settings (okta-oidc pipelines), and the Atlas workload IdP they use.

The IdP itself belongs to the org stack (creating one needs Atlas Organization Owner); an
environment names it by `atlasWorkloadIdpId` once the org stack has created it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from infra.settings.reader import (
    ATLAS_ID,
    ATLAS_ID_HINT,
    Reader,
    integer,
)
from model.access import AuthMode, Pipeline, Tier
from model.naming import Naming
from model.specs import OktaSpec

TOKEN_LIFETIME_MIN, TOKEN_LIFETIME_MAX, PROD_TOKEN_LIFETIME_CAP = 5, 1440, 15
KEY_ROTATION_MIN, KEY_ROTATION_MAX = 1, 8760
OKTA_SCOPE = re.compile(r"^[A-Za-z0-9._:/-]{1,100}$")
AUDIENCE = re.compile(r"^\S{1,512}$")

_OKTA_KEYS = (
    "oktaAudience",
    "oktaScope",
    "oktaTokenLifetimeMinutes",
    "oktaProdMaxTokenLifetimeMinutes",
    "oktaKeyRotationHours",
    "atlasWorkloadIdpId",
)


def okta(
    r: Reader,
    values: Mapping[str, Any],
    *,
    tier: Tier,
    stack: str,
    prefix: str,
    indexed: list[tuple[int, Pipeline]],
) -> OktaSpec | None:
    """Okta settings, allowed exactly when a pipeline uses okta-oidc."""
    if not any(p.auth_mode is AuthMode.OKTA_OIDC for _, p in indexed):
        for key in _OKTA_KEYS:
            if key in values:
                r.fail(key, "only applies when a pipeline uses authMode okta-oidc; remove it")
        return None
    audience = r.string(
        values,
        "oktaAudience",
        "",
        pattern=AUDIENCE,
        default=Naming(prefix=prefix, stack=stack).default_okta_audience(),
        hint="use a URI without spaces",
    )
    scope = r.string(
        values,
        "oktaScope",
        "",
        pattern=OKTA_SCOPE,
        default="mongodb.access",
        hint="use letters, digits and . _ : / -",
    )
    cap = integer(
        r,
        values,
        "oktaProdMaxTokenLifetimeMinutes",
        PROD_TOKEN_LIFETIME_CAP,
        TOKEN_LIFETIME_MIN,
        TOKEN_LIFETIME_MAX,
    )
    high = cap if tier is Tier.PROD else TOKEN_LIFETIME_MAX
    why = f" for tier prod (oktaProdMaxTokenLifetimeMinutes is {cap})" if tier is Tier.PROD else ""
    lifetime = integer(
        r, values, "oktaTokenLifetimeMinutes", min(60, high), TOKEN_LIFETIME_MIN, high, why
    )
    rotation = integer(r, values, "oktaKeyRotationHours", 24, KEY_ROTATION_MIN, KEY_ROTATION_MAX)
    # Unset until the org stack has created this stack's IdP: the okta-oidc pipelines then get
    # everything but their Atlas user (the program warns, docs/operations.md §2.6).
    idp_id = r.string(
        values,
        "atlasWorkloadIdpId",
        "",
        pattern=ATLAS_ID,
        hint=ATLAS_ID_HINT + " (the org stack's workloadIdpIds.<stack> output)",
        required=False,
    )
    if not (audience and scope):
        return None
    return OktaSpec(
        audience=audience,
        scope=scope,
        token_lifetime_minutes=lifetime,
        key_rotation_hours=rotation,
        atlas_workload_idp_id=idp_id,
    )
