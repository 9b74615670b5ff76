"""What a real `pulumi up` of a stack leaves behind, put on moto and OpenBao from its offline plan.

The pulumi stand-in creates nothing, so scripts/ci/verify-deploy would find nothing after it.
This applies the part of the plan verify-deploy reads: the pipeline IAM roles (names and trust
policies as planned), the connection definitions in the stack's Airflow secrets backend (the
stack's `connectionDefinitions` export, which the plan stores there), and for vault-dynamic
pipelines their Vault login role and database role. OpenBao has no AWS auth method and no Atlas
plugin: AppRole (same `auth/<mount>/role/<name>` paths) and a never-dialled PostgreSQL
connection stand in, as in tests/delivery/attacks/test_vault_ci.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import hvac

from tests.conftest import ROOT
from tests.scripts.ci.conftest import World


def offline_plan(stack: str, directory: Path) -> dict[str, Any]:
    target = directory / f"{stack}-plan.json"
    if not target.exists():
        subprocess.run(
            [
                str(ROOT / ".venv/bin/python"),
                "-m",
                "infra.plan",
                "--stack",
                stack,
                "--json",
                str(target),
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    loaded: dict[str, Any] = json.loads(target.read_text())
    return loaded


def deploy_state(world: World, stack: str, directory: Path) -> dict[str, Any]:
    """Apply the stack's plan (the parts verify-deploy reads); returns the plan."""
    plan = offline_plan(stack, directory)
    outputs = plan["outputs"]
    iam = world.admin(stack, "iam")
    for resource in plan["resources"]:
        if resource["type"] == "aws:iam/role:Role":
            inputs = resource["inputs"]
            iam.create_role(
                RoleName=inputs["name"], AssumeRolePolicyDocument=inputs["assumeRolePolicy"]
            )
    options = outputs["airflowConfigurationOptions"]
    kwargs = json.loads(options["secrets.backend_kwargs"])
    vault = world.accounts[stack].vault.client()
    if options["secrets.backend"].endswith("SecretsManagerBackend"):
        manager = world.admin(stack, "secretsmanager")
        for connection_id, definition in outputs["connectionDefinitions"].items():
            manager.create_secret(
                Name=f"{kwargs['connections_prefix']}/{connection_id}",
                SecretString=json.dumps(definition),
            )
    else:
        vault.sys.enable_secrets_engine("kv", path=kwargs["mount_point"], options={"version": "2"})
        for connection_id, definition in outputs["connectionDefinitions"].items():
            vault.secrets.kv.v2.create_or_update_secret(
                mount_point=kwargs["mount_point"],
                path=f"{kwargs['connections_path']}/{connection_id}",
                secret=definition,
            )
    for definition in outputs["connectionDefinitions"].values():
        identity = definition["extra"]["atlas_identity"]
        if identity["auth_mode"] == "vault-dynamic":
            vault_roles(vault, identity["vault"])
    return plan


def vault_roles(vault: hvac.Client, config: dict[str, str]) -> None:
    auth_methods = vault.sys.list_auth_methods()
    if f"{config['auth_mount']}/" not in auth_methods:
        vault.sys.enable_auth_method("approle", path=config["auth_mount"])
    vault.write(f"auth/{config['auth_mount']}/role/{config['auth_role']}", token_ttl="15m")
    if f"{config['db_mount']}/" not in vault.sys.list_mounted_secrets_engines():
        vault.sys.enable_secrets_engine("database", path=config["db_mount"])
    vault.write(
        f"{config['db_mount']}/config/atlas",
        plugin_name="postgresql-database-plugin",
        connection_url="postgresql://{{username}}:{{password}}@127.0.0.1:1/none",
        username="vault",
        password="unused",
        verify_connection=False,
        allowed_roles=[config["db_role"]],
    )
    vault.write(
        f"{config['db_mount']}/roles/{config['db_role']}",
        db_name="atlas",
        creation_statements=['CREATE ROLE "{{name}}"'],
    )
