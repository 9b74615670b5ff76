"""What Vault is given, as pure values: ACL policies in HCL, creation statements, the username
template of Vault-issued Atlas users and the STS client config of AWS login mounts.

components/vault/access.py declares the resources that carry them; the bootstrap renders its CI
policies with `hcl_policy` too, so there is one renderer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi

from components import lifting

# Usernames of Vault-issued Atlas users. The MongoDB Atlas database plugin's default template is
# `{{ printf "v-%s-%s" (.RoleName | truncate 15) (random 20) | truncate 20 }}`
# (hashicorp/vault-plugin-database-mongodbatlas, mongodbatlas.go): the role name eats 15 of the 20
# characters, leaving 2 random ones, so concurrent leases of one role can collide. Ours keeps the
# plugin's 20-character bound and the `v-` prefix (the Atlas audit filter matches Vault users by
# `^v-`) and fills the rest with Vault's `random` (alphanumeric): 18 characters, ~107 bits.
USERNAME_PREFIX = "v-"
USERNAME_MAX_LENGTH = 20
USERNAME_RANDOM_LENGTH = USERNAME_MAX_LENGTH - len(USERNAME_PREFIX)
USERNAME_TEMPLATE = f'{{{{ printf "{USERNAME_PREFIX}%s" (random {USERNAME_RANDOM_LENGTH}) }}}}'


def hcl_policy(rules: Sequence[tuple[str, Sequence[str]]]) -> str:
    """Render `path "<p>" { capabilities = [...] }` blocks; JSON strings are valid HCL strings."""
    return "\n".join(
        f"path {json.dumps(path)} {{\n  capabilities = {json.dumps(list(capabilities))}\n}}\n"
        for path, capabilities in rules
    )


def creation_statement(custom_role: pulumi.Input[str], cluster: str) -> pulumi.Output[str]:
    """The single creation statement of a role: exactly one custom role, exactly one cluster."""
    return lifting.json_text(
        {
            "database_name": "admin",
            "roles": [{"databaseName": "admin", "roleName": custom_role}],
            "scopes": [{"name": cluster, "type": "CLUSTER"}],
        }
    )
