"""Vault settings: vault-dynamic pipelines and Vault as Airflow's secrets backend."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from components.access import AuthMode, Tier
from components.specs import VaultSpec
from infra.settings.reader import Reader, integer

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
AUDIT_TYPES = ("file", "socket", "syslog")
VAULT_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?/?$")
TTL_MIN, TTL_MAX = 60, 31 * 86400


def vault(
    r: Reader,
    values: Mapping[str, Any],
    *,
    tier: Tier,
    modes: set[AuthMode],
    org_id: str | None,
) -> VaultSpec | None:
    """Vault settings: required when a pipeline is vault-dynamic or Vault is the backend."""
    backend = r.choice(values, "secretsBackend", "", SECRETS_BACKENDS, default="secrets-manager")
    dynamic = AuthMode.VAULT_DYNAMIC in modes
    if not dynamic:
        for key in _VAULT_DYNAMIC_KEYS:
            if key in values:
                r.fail(key, "only applies when a pipeline uses authMode vault-dynamic; remove it")
    if backend != "vault" and not dynamic:
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
    audit = _vault_audit(r, values)
    prod = tier is Tier.PROD
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
        audit_type=audit[0],
        audit_options=audit[1],
        default_ttl=default_ttl,
        max_ttl=max_ttl,
        secrets_backend=backend == "vault",
        atlas_org_id=org_id or "",
        api_key_access_list=access_list,
        api_key_rotation_days=rotation,
    )


def _vault_audit(r: Reader, values: Mapping[str, Any]) -> tuple[str, dict[str, str]] | None:
    raw = values.get("vaultAudit")
    if raw is None:
        r.fail(
            "vaultAudit",
            "is required when Vault is used; add e.g. "
            "{type: file, options: {file_path: /vault/audit/audit.log}}",
        )
        return None
    if not isinstance(raw, dict):
        r.fail("vaultAudit", "must be an object {type, options}")
        return None
    r.unknown_keys(raw, {"type", "options"}, "vaultAudit")
    kind = r.choice(raw, "type", "vaultAudit", AUDIT_TYPES)
    options = raw.get("options", {})
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in options.items()
    ):
        r.fail("vaultAudit.options", "must map option names to strings")
        return None
    required = {"file": "file_path", "socket": "address"}.get(kind or "")
    if required and required not in options:
        r.fail(f"vaultAudit.options.{required}", f"is required for a {kind} audit device")
        return None
    return (kind, dict(options)) if kind else None


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
