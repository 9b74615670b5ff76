"""Vault rules: bounded database-role and token TTLs, bound auth roles, hashed audit devices."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.rules.framework import (
    ResourceRule,
    ResourceView,
    Rule,
    Setting,
    StackRule,
    StackView,
    as_number,
    as_strings,
    seconds_text,
)
from policy.rules.tokens import VAULT_AUDIT, VAULT_AWS_AUTH_ROLE, VAULT_DB_ROLE, VAULT_JWT_AUTH_ROLE


def _ttl_problems(
    props: Mapping[str, Any], low: str, high: str, limit: int, limit_name: str
) -> Iterator[str]:
    """`low` <= `high` <= limit, both set and positive."""
    values: dict[str, float] = {}
    for key in (low, high):
        value = props.get(key)
        number = as_number(value)
        if value is None:
            yield (
                f"`{key}` is not set, so Vault falls back to the mount or system default "
                f"(32 days unless tuned); set it explicitly to at most {limit}s"
            )
        elif number is None or number <= 0:
            yield f"`{key}` is {value!r}; set a positive number of seconds, at most {limit}s"
        else:
            values[key] = number
    if low in values and high in values and values[low] > values[high]:
        yield (
            f"`{low}` ({seconds_text(values[low])}) exceeds "
            f"`{high}` ({seconds_text(values[high])}); lower {low} or raise {high}"
        )
    if high in values and values[high] > limit:
        yield (
            f"`{high}` ({seconds_text(values[high])}) exceeds the limit of {limit}s "
            f"({limit_name}); lower it"
        )


def check_vault_database_role_ttl(r: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    yield from _ttl_problems(
        r.props, "defaultTtl", "maxTtl", config["maxTtlSeconds"], "setting maxTtlSeconds"
    )


VAULT_DATABASE_ROLE_TTL = ResourceRule(
    name="vault-database-role-ttl",
    description="Vault database roles: 0 < default_ttl <= max_ttl <= the configured limit.",
    types=frozenset({VAULT_DB_ROLE}),
    check=check_vault_database_role_ttl,
    settings=(
        Setting(
            name="maxTtlSeconds",
            type="integer",
            default=3600,
            minimum=1,
            description="Upper bound of max_ttl of a dynamic Atlas credential, in seconds",
        ),
    ),
)


def _wildcard_problems(values: list[str] | None, key: str, required: bool) -> Iterator[str]:
    if not values:
        if required:
            yield f"`{key}` is empty or missing; bind the role to explicit values"
        return
    for value in values:
        if "*" in value or not value.strip():
            yield f"`{key}` contains {value!r}; wildcards are not allowed, list exact values"


def check_vault_auth_role(r: ResourceView, config: Mapping[str, Any]) -> Iterator[str]:
    p = r.props
    if r.type == VAULT_AWS_AUTH_ROLE:
        auth_type = p.get("authType")
        if auth_type is not None and auth_type != "iam":
            yield f"authType is {auth_type!r}; use `iam` with boundIamPrincipalArns"
        yield from _wildcard_problems(
            as_strings(p.get("boundIamPrincipalArns")), "boundIamPrincipalArns", required=True
        )
    else:
        role_type = p.get("roleType")
        if role_type is None:
            yield "roleType is not set (Vault defaults to `oidc`); machine logins use `jwt`"
        elif role_type != "jwt":
            yield f"roleType is {role_type!r}; machine logins use `jwt`"
        yield from _wildcard_problems(
            as_strings(p.get("boundAudiences")), "boundAudiences", required=True
        )
        subject = p.get("boundSubject")
        claims = p.get("boundClaims")
        has_claims = isinstance(claims, Mapping) and len(claims) > 0
        if not (isinstance(subject, str) and subject) and not has_claims:
            yield (
                "binds no principal: set boundSubject (the client id) or boundClaims, "
                "otherwise any token for the audience may log in"
            )
        if isinstance(subject, str) and "*" in subject:
            yield f"`boundSubject` is {subject!r}; wildcards are not allowed"
        if has_claims:
            assert isinstance(claims, Mapping)
            if p.get("boundClaimsType") == "glob":
                yield "boundClaimsType is `glob`; use `string` (exact match)"
            for key in claims:
                value = claims[key]
                if not isinstance(value, str) or "*" in value or not value:
                    yield f"`boundClaims.{key}` is {value!r}; use exact values, no wildcards"
    limit = config["maxTokenTtlSeconds"]
    yield from _ttl_problems(p, "tokenTtl", "tokenMaxTtl", limit, "setting maxTokenTtlSeconds")
    explicit = as_number(p.get("tokenExplicitMaxTtl"))
    if explicit is not None and explicit > limit:
        yield f"`tokenExplicitMaxTtl` ({seconds_text(explicit)}) exceeds the limit of {limit}s"
    period = as_number(p.get("tokenPeriod"))
    if period is not None and period > 0:
        yield "`tokenPeriod` makes tokens renewable forever; remove it"


VAULT_AUTH_ROLE_BOUND = ResourceRule(
    name="vault-auth-role-bound",
    description="Vault AWS/JWT auth roles are bound to explicit principals and audiences "
    "(no wildcards) and issue tokens with bounded TTLs.",
    types=frozenset({VAULT_AWS_AUTH_ROLE, VAULT_JWT_AUTH_ROLE}),
    check=check_vault_auth_role,
    settings=(
        Setting(
            name="maxTokenTtlSeconds",
            type="integer",
            default=3600,
            minimum=1,
            description="Upper bound of token_max_ttl of a pipeline's Vault token, in seconds",
        ),
    ),
)


def check_vault_audit_device(
    stack: StackView, config: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    if not any(r.type.startswith("vault:") for r in stack.resources):
        return
    devices = stack.of_type(VAULT_AUDIT)
    wanted = config["minAuditDevices"]
    if not devices:
        yield (
            "",
            "the stack configures Vault but declares no audit device; add vault.Audit "
            "(type file, socket or syslog) so every login and credential is recorded",
        )
    elif len(devices) < wanted:
        # Vault docs, "Audit devices": a request completes once one enabled device logged it;
        # when every device blocks, Vault answers nothing.
        yield (
            "",
            f"the stack declares {len(devices)} Vault audit device(s), fewer than "
            f"{wanted}: Vault answers no request while its only device is blocked; add a "
            "device on another failure domain (e.g. file and socket)",
        )


VAULT_AUDIT_DEVICE = StackRule(
    name="vault-audit-device",
    description="A stack that configures Vault declares at least `minAuditDevices` audit devices.",
    check=check_vault_audit_device,
    settings=(
        Setting(
            name="minAuditDevices",
            type="integer",
            default=1,
            minimum=1,
            description="Fewest Vault audit devices a stack with Vault resources declares",
        ),
    ),
)

# Go's strconv.ParseBool, which Vault applies to audit options.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def check_vault_audit_hashed(r: ResourceView, _: Mapping[str, Any]) -> Iterator[str]:
    options = r.props.get("options")
    if not isinstance(options, Mapping):
        return
    log_raw, hmac_accessor = options.get("log_raw"), options.get("hmac_accessor")
    if log_raw is not None and str(log_raw) not in _FALSE:
        yield (
            f"options.log_raw is {log_raw!r}: the log would hold every secret Vault returns "
            "(database passwords, tokens) in clear; remove it"
        )
    if hmac_accessor is not None and str(hmac_accessor) not in _TRUE:
        yield (
            f"options.hmac_accessor is {hmac_accessor!r}: token accessors would be logged in "
            "clear; remove it"
        )


VAULT_AUDIT_HASHED = ResourceRule(
    name="vault-audit-hashed",
    description="Vault audit devices hash what they log: no `log_raw`, no unhashed accessors.",
    types=frozenset({VAULT_AUDIT}),
    check=check_vault_audit_hashed,
)


RULES: tuple[Rule, ...] = (
    VAULT_DATABASE_ROLE_TTL,
    VAULT_AUTH_ROLE_BOUND,
    VAULT_AUDIT_DEVICE,
    VAULT_AUDIT_HASHED,
)
