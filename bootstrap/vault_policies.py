"""The CI logins' Vault policies, rendered with the program's own `hcl_policy`: `deploy` writes
the data plane only, `preview` reads no credential, `structure` (the reviewed workflow) writes
the stack's structure but never the CI policies. Pure data: bootstrap/vault_ci.py creates them,
tests/delivery/attacks/test_vault_ci.py attacks them on OpenBao (docs/operations.md, "Who can do
what").
"""

from __future__ import annotations

from components.vault.documents import hcl_policy

Rules = list[tuple[str, list[str]]]
DENY = ["deny"]
CRUD = ["create", "read", "update", "delete"]
READ = ["read", "list"]
MANAGE = ["create", "read", "update", "delete", "list", "sudo"]


def vault_ci_policies(stack_prefix: str) -> dict[str, str]:
    """HCL of the CI logins' policies: `deploy` (data plane), `preview`, `structure`."""
    return {
        "deploy": hcl_policy(_deploy(stack_prefix)),
        "preview": hcl_policy(_preview(stack_prefix)),
        "structure": hcl_policy(_structure(stack_prefix)),
    }


def _never() -> Rules:
    # Structure is the reviewed workflow's; refused here even if another policy allowed it.
    return [
        ("sys/audit", DENY),
        ("sys/audit/*", DENY),
        ("sys/audit-hash/*", DENY),
        ("sys/auth", DENY),
        ("sys/auth/*", DENY),
        ("sys/mounts/*", DENY),
        ("sys/remount", DENY),
        ("sys/policy/*", DENY),
        ("sys/policies/*", DENY),
        ("identity/*", DENY),
        ("sys/raw/*", DENY),
    ]


def _minting(p: str) -> Rules:
    # Reading these makes Vault issue a live database user or reveals/rotates the Atlas key.
    return [
        (f"{p}-atlas/creds/*", DENY),
        (f"{p}-atlas/static-creds/*", DENY),
        (f"{p}-atlas/rotate-root/*", DENY),
        (f"{p}-atlas/rotate-role/*", DENY),
        (f"{p}-atlas/reset/*", DENY),
    ]


def _deploy(p: str) -> Rules:
    # Login and database roles bind an identity or a statement to power: structure. CI may read
    # them (refresh) and delete them (a removed pipeline loses access), never write them.
    roles = [
        (f"{p}-atlas/roles/*", ["read", "list", "delete"]),
        (f"auth/{p}-aws/role/*", ["read", "list", "delete"]),
        (f"auth/{p}-aws-airflow/role/*", ["read", "list", "delete"]),
        (f"auth/{p}-okta/role/*", ["read", "list", "delete"]),
    ]
    return [
        *_never(),
        *_minting(p),
        *roles,
        # The connection config holds the Atlas API key the nightly rotation replaces.
        (f"{p}-atlas/config/*", CRUD),
        # The AWS auth client config (STS endpoint, server-id header) is structure: read only.
        (f"auth/{p}-aws/config/client", ["read"]),
        (f"auth/{p}-aws-airflow/config/client", ["read"]),
        (f"{p}-airflow/data/*", CRUD),
        (f"{p}-airflow/metadata/*", ["read", "list", "delete"]),
        # The provider works with a child token of the login token.
        ("auth/token/create", ["update"]),
    ]


def _preview(p: str) -> Rules:
    return [
        *_never(),
        *_minting(p),
        (f"{p}-atlas/config/*", DENY),
        (f"{p}-airflow/data/*", DENY),
        (f"{p}-airflow/metadata/*", DENY),
        (f"{p}-atlas/roles/*", READ),
        (f"auth/{p}-aws/role/*", READ),
        (f"auth/{p}-aws-airflow/role/*", READ),
        (f"auth/{p}-okta/role/*", READ),
        (f"sys/policies/acl/{p}-*", ["read"]),
        ("auth/token/create", ["update"]),
    ]


def _structure(p: str) -> Rules:
    return [
        *_minting(p),
        # Mounts, auth methods, audit devices, policies and roles of this stack's prefix; never
        # the CI logins' own policies (the bootstrap's, applied by an administrator).
        ("sys/mounts", ["read"]),
        (f"sys/mounts/{p}-*", MANAGE),
        ("sys/auth", ["read"]),
        (f"sys/auth/{p}-*", MANAGE),
        ("sys/audit", ["read", "sudo"]),
        (f"sys/audit/{p}-*", MANAGE),
        (f"sys/policies/acl/{p}-*", MANAGE),
        (f"sys/policies/acl/{p}-ci-*", DENY),
        (f"{p}-atlas/roles/*", [*CRUD, "list"]),
        (f"auth/{p}-aws/role/*", [*CRUD, "list"]),
        (f"auth/{p}-aws-airflow/role/*", [*CRUD, "list"]),
        (f"auth/{p}-okta/role/*", [*CRUD, "list"]),
        (f"auth/{p}-aws/config/client", CRUD),
        (f"auth/{p}-aws-airflow/config/client", CRUD),
        # JWT auth configuration is written together with its mount (discovery URL, issuer).
        (f"auth/{p}-okta/config", CRUD),
        ("auth/token/create", ["update"]),
    ]
