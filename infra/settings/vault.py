"""Vault settings: vault-dynamic pipelines and Vault as Airflow's secrets backend."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from infra.settings.reader import Reader, integer
from model.access import VAULT_AUDIT_TYPES, AuthMode, Tier
from model.specs import AuditDevice, VaultSpec

_VAULT_KEYS = (
    "vaultAddress",
    "vaultIamServerIdHeaderValue",
    "vaultAudit",
    "vaultDefaultTtlSeconds",
    "vaultMaxTtlSeconds",
    "vaultTtlCeilingSeconds",
)
_VAULT_DYNAMIC_KEYS = ("atlasVaultApiKeyAccessList", "atlasApiKeyRotationDays")
SECRETS_BACKENDS = ("secrets-manager", "vault")
AUDIT_TYPES = VAULT_AUDIT_TYPES
VAULT_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?/?$")
TTL_MIN, TTL_MAX = 60, 31 * 86400


def vault(
    r: Reader,
    values: Mapping[str, Any],
    *,
    tier: Tier | None,
    modes: set[AuthMode] | None,
    org_id: str | None,
) -> VaultSpec | None:
    """Vault settings: required when a pipeline is vault-dynamic or Vault is the backend.

    `modes` None (an authMode is invalid) or an invalid secretsBackend: whether Vault is used
    is unknown, and its keys are neither required nor refused.
    """
    backend = r.choice(values, "secretsBackend", "", SECRETS_BACKENDS, default="secrets-manager")
    dynamic = modes is not None and AuthMode.VAULT_DYNAMIC in modes
    if modes is not None and not dynamic:
        for key in _VAULT_DYNAMIC_KEYS:
            if key in values:
                r.fail(key, "only applies when a pipeline uses authMode vault-dynamic; remove it")
    if backend != "vault" and not dynamic:
        if backend is None or modes is None:
            return None
        for key in _VAULT_KEYS:
            if key in values:
                r.fail(
                    key,
                    "only applies when Vault is used (a vault-dynamic pipeline or "
                    "secretsBackend: vault); remove it",
                )
        return None
    address = r.string(
        values,
        "vaultAddress",
        "",
        pattern=VAULT_URL,
        hint="use the https URL workers reach Vault at, e.g. https://vault.acme.internal:8200",
    )
    host = address.split("://", 1)[1].split(":")[0].rstrip("/") if address else None
    header = r.string(
        values,
        "vaultIamServerIdHeaderValue",
        "",
        default=host,
        pattern=re.compile(r"^[A-Za-z0-9.-]{1,253}$"),
        hint="use a host name",
        # Without a valid vaultAddress there is no default; that problem is reported already.
        required=host is not None,
    )
    prod = tier is Tier.PROD
    audit = _vault_audit(r, values, prod=prod)
    default_ttl, max_ttl = _ttls(r, values, prod=prod)
    access_list: tuple[str, ...] = ()
    rotation = 30
    if dynamic:
        access_list = _access_list(r, values)
        rotation = integer(r, values, "atlasApiKeyRotationDays", 30, 1, 90)
    if not (address and header and audit):
        return None
    return VaultSpec(
        address=address.rstrip("/"),
        iam_server_id_header_value=header,
        audit_devices=audit,
        default_ttl=default_ttl,
        max_ttl=max_ttl,
        secrets_backend=backend == "vault",
        atlas_org_id=org_id or "",
        api_key_access_list=access_list,
        api_key_rotation_days=rotation,
    )


def _ttls(r: Reader, values: Mapping[str, Any], *, prod: bool) -> tuple[int, int]:
    """(default, max) TTL of the credentials Vault issues: default <= max <= the ceiling."""
    ceiling = integer(
        r, values, "vaultTtlCeilingSeconds", 3600 if prod else 86400, TTL_MIN, TTL_MAX
    )
    max_ttl = integer(
        r, values, "vaultMaxTtlSeconds", min(3600 if prod else 14400, ceiling), TTL_MIN, TTL_MAX
    )
    default_ttl = integer(
        r, values, "vaultDefaultTtlSeconds", min(900 if prod else 3600, max_ttl), TTL_MIN, TTL_MAX
    )
    if max_ttl > ceiling:
        r.fail(
            "vaultMaxTtlSeconds",
            f"{max_ttl} exceeds vaultTtlCeilingSeconds ({ceiling}): lower vaultMaxTtlSeconds "
            "or raise vaultTtlCeilingSeconds",
        )
    if default_ttl > max_ttl:
        r.fail(
            "vaultDefaultTtlSeconds",
            f"{default_ttl} exceeds vaultMaxTtlSeconds ({max_ttl}): lower "
            "vaultDefaultTtlSeconds or raise vaultMaxTtlSeconds",
        )
    return default_ttl, max_ttl


# Vault parses audit booleans with Go's strconv.ParseBool.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
# Vault docs, "Audit devices" (https://developer.hashicorp.com/vault/docs/audit): a request
# completes when at least one enabled device logged it; with one device that blocks, Vault
# answers nothing. Prod needs a second device on another failure domain (e.g. file + socket).
PROD_MIN_AUDIT_DEVICES = 2
_REQUIRED_AUDIT_OPTION = {"file": "file_path", "socket": "address"}


def _vault_audit(r: Reader, values: Mapping[str, Any], *, prod: bool) -> tuple[AuditDevice, ...]:
    """`vaultAudit`: a list of devices; a single object (the former form) is read as one device,
    so stacks written before the list need no edit unless their tier asks for more devices."""
    raw = values.get("vaultAudit")
    example = "[{type: file, options: {file_path: /vault/audit/audit.log}}]"
    if raw is None:
        r.fail("vaultAudit", f"is required when Vault is used; add e.g. {example}")
        return ()
    items: list[tuple[str, Any]]
    if isinstance(raw, dict):
        items = [("vaultAudit", raw)]
    elif isinstance(raw, list):
        items = [(f"vaultAudit[{i}]", item) for i, item in enumerate(raw)]
    else:
        r.fail("vaultAudit", f"must be a list of audit devices {{type, options}}, e.g. {example}")
        return ()
    before = len(r.problems)
    devices = [d for at, item in items if (d := _audit_device(r, item, at)) is not None]
    seen: set[str] = set()
    for at, item in items:
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(kind, str):
            continue
        if kind in seen:
            r.fail(
                f"{at}.type",
                f"a second {kind} device; list each device type once (its Vault path is "
                f"<prefix>-<stack>-{kind})",
            )
        seen.add(kind)
    if prod and len(items) < PROD_MIN_AUDIT_DEVICES:
        r.fail(
            "vaultAudit",
            f"prod needs at least {PROD_MIN_AUDIT_DEVICES} audit devices: Vault answers no "
            "request (logins, credentials, connection definitions) while every enabled device "
            "is blocked; add a device on another failure domain, e.g. file and socket",
        )
    return tuple(devices) if len(r.problems) == before else ()


def _audit_device(r: Reader, item: Any, at: str) -> AuditDevice | None:
    if not isinstance(item, dict):
        r.fail(at, "must be an object {type, options}")
        return None
    r.unknown_keys(item, {"type", "options"}, at)
    kind = r.choice(item, "type", at, AUDIT_TYPES)
    options = item.get("options", {})
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in options.items()
    ):
        r.fail(f"{at}.options", "must map option names to strings")
        return None
    required = _REQUIRED_AUDIT_OPTION.get(kind or "")
    if required and required not in options:
        r.fail(f"{at}.options.{required}", f"is required for a {kind} audit device")
    # In every tier: raw logs hold every secret Vault returns (database passwords, tokens) in
    # clear; unhashed accessors let whoever reads the log target those tokens (lookup, revoke).
    for key, refused, reason in (
        ("log_raw", _TRUE, "writes every secret Vault returns in clear"),
        ("hmac_accessor", _FALSE, "writes token accessors in clear"),
    ):
        value = options.get(key)
        if value is None:
            continue
        if value not in _TRUE | _FALSE:
            r.fail(f"{at}.options.{key}", f"'{value}' is not a boolean; use true or false")
        elif value in refused:
            r.fail(f"{at}.options.{key}", f"'{value}' {reason}; remove the option")
    return AuditDevice(type=kind, options=dict(options)) if kind else None


def _access_list(r: Reader, values: Mapping[str, Any]) -> tuple[str, ...]:
    key = "atlasVaultApiKeyAccessList"
    if key not in values:
        r.fail(key, "is required with vault-dynamic pipelines: list Vault's egress IPs or CIDRs")
        return ()
    entries = r.strings(values, key, "")
    if entries is None:
        return ()
    if not entries:
        r.fail(key, "is empty; list Vault's egress IPs or CIDRs")
    for index, entry in enumerate(entries):
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            r.fail(f"{key}[{index}]", f"'{entry}' is not an IP address or CIDR")
            continue
        if network.prefixlen == 0:
            r.fail(f"{key}[{index}]", f"'{entry}' allows every address; list Vault's egress")
    return entries
