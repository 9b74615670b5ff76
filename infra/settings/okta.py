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
from model.access import AuthMode, Tier
from model.naming import Naming
from model.specs import OktaSpec

TOKEN_LIFETIME_MIN, TOKEN_LIFETIME_MAX, PROD_TOKEN_LIFETIME_CAP = 5, 1440, 15
KEY_ROTATION_MIN, KEY_ROTATION_MAX = 1, 8760
OKTA_SCOPE = re.compile(r"^[A-Za-z0-9._:/-]{1,100}$")
AUDIENCE = re.compile(r"^\S{1,512}$")
# The Okta provider's own settings (pulumi_okta/config/vars.py): `orgName`, "The organization to
# manage in Okta", and `baseUrl`, "The Okta url. (Use 'oktapreview.com' for Okta testing)"; the
# org is https://<orgName>.<baseUrl>, e.g. https://acme.okta.com. Both are optional to the SDK, so
# nothing but this check stops an okta-oidc stack without them.
OKTA_ORG_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
OKTA_BASE_URL = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)+$")

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
    tier: Tier | None,
    stack: str,
    prefix: str,
    modes: set[AuthMode] | None,
) -> OktaSpec | None:
    """Okta settings, allowed exactly when a pipeline uses okta-oidc.

    `modes`: the auth modes the pipelines declare (None: an authMode is invalid, and the keys
    are then only checked, neither refused nor required).
    """
    if modes is not None and AuthMode.OKTA_OIDC not in modes:
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


def org_url(r: Reader, providers: Mapping[Any, Any], *, modes: set[AuthMode] | None) -> str | None:
    """`https://<okta:orgName>.<okta:baseUrl>`: the Okta org of the okta-oidc pipelines' apps and
    authorization server, whose issuer URL the org stack's workload IdP trusts.

    Required when a pipeline uses okta-oidc, never defaulted: a guessed org would flow into the
    issuer the org stack is handed. With the modes unknown (an invalid authMode, modes None),
    checked only where set.
    """
    if modes is not None and AuthMode.OKTA_OIDC not in modes:
        return None
    required = modes is not None
    why = "the Okta org of the okta-oidc pipelines"
    name = r.string(
        providers,
        "okta:orgName",
        "",
        pattern=OKTA_ORG_NAME,
        required=required,
        hint=f"set {why}: its subdomain, e.g. acme for https://acme.okta.com",
    )
    base = r.string(
        providers,
        "okta:baseUrl",
        "",
        pattern=OKTA_BASE_URL,
        required=required,
        hint=f"set the domain of {why}, without https://, e.g. okta.com or oktapreview.com",
    )
    return f"https://{name}.{base}" if name and base else None
