"""Okta rules: only client_credentials with bounded token lifetimes; JWT-signed service apps."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.rules.framework import (
    ResourceRule,
    ResourceView,
    Rule,
    Setting,
    as_number,
    as_strings,
    is_set,
)
from policy.rules.tokens import OKTA_OAUTH_APP, OKTA_POLICY_RULE

CLIENT_CREDENTIALS = "client_credentials"
PRIVATE_KEY_JWT = "private_key_jwt"


def check_okta_policy_rule(r: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    limit = config["maxAccessTokenLifetimeMinutes"]
    value = r.props.get("accessTokenLifetimeMinutes")
    minutes = as_number(value)
    if value is None:
        yield (
            "accessTokenLifetimeMinutes is not set (Okta's default is 60); set it explicitly, "
            f"at most {limit} minutes"
        )
    elif minutes is None or minutes <= 0:
        yield f"accessTokenLifetimeMinutes is {value!r}; set a positive number of minutes"
    elif minutes > limit:
        yield (
            f"accessTokenLifetimeMinutes ({int(minutes)}) exceeds the limit of {limit} minutes "
            "(setting maxAccessTokenLifetimeMinutes); lower it"
        )
    grants = as_strings(r.props.get("grantTypeWhitelists"))
    if not grants:
        yield "grantTypeWhitelists is empty or missing; allow exactly [client_credentials]"
    else:
        for grant in sorted(set(grants) - {CLIENT_CREDENTIALS}):
            yield f"grantTypeWhitelists allows {grant!r}; pipelines use only client_credentials"


OKTA_POLICY_RULE_LIMITS = ResourceRule(
    name="okta-policy-rule-limits",
    description="Okta authorization-server policy rules allow only client_credentials and "
    "an access-token lifetime within the configured limit.",
    types=frozenset({OKTA_POLICY_RULE}),
    check=check_okta_policy_rule,
    settings=(
        Setting(
            name="maxAccessTokenLifetimeMinutes",
            type="integer",
            default=60,
            minimum=5,
            description="Upper bound of accessTokenLifetimeMinutes (Okta allows 5..1440)",
        ),
    ),
)


def check_okta_service_app(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    p = r.props
    grants = as_strings(p.get("grantTypes")) or []
    if p.get("type") != "service" and CLIENT_CREDENTIALS not in grants:
        return  # not a machine client
    method = p.get("tokenEndpointAuthMethod")
    if method is None:
        yield (
            "tokenEndpointAuthMethod is not set (Okta defaults to client_secret_basic); "
            "use private_key_jwt"
        )
    elif method != PRIVATE_KEY_JWT:
        yield f"tokenEndpointAuthMethod is {method!r}; use private_key_jwt"
    for key in ("clientBasicSecret", "clientBasicSecretWo"):
        if is_set(p, key):
            yield f"sets `{key}`: service apps authenticate with a signed JWT, never a secret"
    if not is_set(p, "jwks") and not is_set(p, "jwksUri"):
        yield "has no `jwks` or `jwksUri`: private_key_jwt needs the app's public key"
    for grant in sorted(set(grants) - {CLIENT_CREDENTIALS}):
        yield f"grantTypes includes {grant!r}; service apps use only client_credentials"
    if not grants:
        yield "grantTypes is empty or missing; set exactly [client_credentials]"


OKTA_SERVICE_APP_PRIVATE_KEY_JWT = ResourceRule(
    name="okta-service-app-private-key-jwt",
    description="Okta service apps authenticate with private_key_jwt and hold no secret.",
    types=frozenset({OKTA_OAUTH_APP}),
    check=check_okta_service_app,
)


RULES: tuple[Rule, ...] = (
    OKTA_POLICY_RULE_LIMITS,
    OKTA_SERVICE_APP_PRIVATE_KEY_JWT,
)
