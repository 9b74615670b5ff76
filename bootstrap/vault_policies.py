"""The CI logins' Vault policies, rendered with the program's own `hcl_policy`: `deploy` writes
the data plane only, `preview` reads no credential, `structure` (the reviewed workflow) writes
the stack's structure but never the CI policies. Pure data: bootstrap/vault_ci.py creates them,
tests/delivery/attacks/test_vault_ci.py attacks them on OpenBao (docs/operations.md, "Who can do
what").
"""

from __future__ import annotations

from components.vault.documents import hcl_policy


def vault_ci_policies(stack_prefix: str) -> dict[str, str]:
    """HCL of the CI logins' policies: `deploy` (data plane), `preview`, `structure`."""
    p = stack_prefix
    deny = ["deny"]
    crud = ["create", "read", "update", "delete"]
    read = ["read", "list"]
    never = [
        # Structure is the reviewed workflow's; refused here even if another policy allowed it.
        ("sys/audit", deny),
        ("sys/audit/*", deny),
        ("sys/audit-hash/*", deny),
        ("sys/auth", deny),
        ("sys/auth/*", deny),
        ("sys/mounts/*", deny),
        ("sys/remount", deny),
        ("sys/policy/*", deny),
        ("sys/policies/*", deny),
        ("identity/*", deny),
        ("sys/raw/*", deny),
    ]
    minting = [
        # Reading these makes Vault issue a live database user or reveals/rotates the Atlas key.
        (f"{p}-atlas/creds/*", deny),
        (f"{p}-atlas/static-creds/*", deny),
        (f"{p}-atlas/rotate-root/*", deny),
        (f"{p}-atlas/rotate-role/*", deny),
        (f"{p}-atlas/reset/*", deny),
    ]
    # Login and database roles bind an identity or a statement to power: structure. CI may read
    # them (refresh) and delete them (a removed pipeline loses access), never write them.
    roles = [
        (f"{p}-atlas/roles/*", ["read", "list", "delete"]),
        (f"auth/{p}-aws/role/*", ["read", "list", "delete"]),
        (f"auth/{p}-aws-airflow/role/*", ["read", "list", "delete"]),
        (f"auth/{p}-okta/role/*", ["read", "list", "delete"]),
    ]
    deploy = [
        *never,
        *minting,
        *roles,
        # The connection config holds the Atlas API key the nightly rotation replaces.
        (f"{p}-atlas/config/*", crud),
        # The AWS auth client config (STS endpoint, server-id header) is structure: read only.
        (f"auth/{p}-aws/config/client", ["read"]),
        (f"auth/{p}-aws-airflow/config/client", ["read"]),
        (f"{p}-airflow/data/*", crud),
        (f"{p}-airflow/metadata/*", ["read", "list", "delete"]),
        # The provider works with a child token of the login token.
        ("auth/token/create", ["update"]),
    ]
    preview = [
        *never,
        *minting,
        (f"{p}-atlas/config/*", deny),
        (f"{p}-airflow/data/*", deny),
        (f"{p}-airflow/metadata/*", deny),
        (f"{p}-atlas/roles/*", read),
        (f"auth/{p}-aws/role/*", read),
        (f"auth/{p}-aws-airflow/role/*", read),
        (f"auth/{p}-okta/role/*", read),
        (f"sys/policies/acl/{p}-*", ["read"]),
        ("auth/token/create", ["update"]),
    ]
    manage = ["create", "read", "update", "delete", "list", "sudo"]
    structure = [
        *minting,
        # Mounts, auth methods, audit devices, policies and roles of this stack's prefix; never
        # the CI logins' own policies (the bootstrap's, applied by an administrator).
        ("sys/mounts", ["read"]),
        (f"sys/mounts/{p}-*", manage),
        ("sys/auth", ["read"]),
        (f"sys/auth/{p}-*", manage),
        ("sys/audit", ["read", "sudo"]),
        (f"sys/audit/{p}-*", manage),
        (f"sys/policies/acl/{p}-*", manage),
        (f"sys/policies/acl/{p}-ci-*", deny),
        (f"{p}-atlas/roles/*", [*crud, "list"]),
        (f"auth/{p}-aws/role/*", [*crud, "list"]),
        (f"auth/{p}-aws-airflow/role/*", [*crud, "list"]),
        (f"auth/{p}-okta/role/*", [*crud, "list"]),
        (f"auth/{p}-aws/config/client", crud),
        (f"auth/{p}-aws-airflow/config/client", crud),
        # JWT auth configuration is written together with its mount (discovery URL, issuer).
        (f"auth/{p}-okta/config", crud),
        ("auth/token/create", ["update"]),
    ]
    return {
        "deploy": hcl_policy(deploy),
        "preview": hcl_policy(preview),
        "structure": hcl_policy(structure),
    }
