"""A real OpenBao for the Vault side of every committed stack, and each stack's plan.

One dev-mode server serves the whole session; the stacks do not collide because every mount and
policy name carries the stack's base name (`aai-dev-...`, `aai-prod-...`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import hvac
import pytest

from devtools.services.openbao import OpenBaoServer, running_openbao
from tests.integration.vault.expected import StackExpectations
from tests.plans import committed_plan
from tests.stacks_discovery import STACKS, stack_file


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBaoServer]:
    with running_openbao() as server:
        yield server


@dataclass
class PlannedStack:
    expected: StackExpectations
    plan: dict[str, Any]

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.plan["outputs"])

    @property
    def policies(self) -> dict[str, str]:
        return dict(self.outputs["vaultPolicies"])

    def resources(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.plan["resources"] if r["type"] == type_token]


@pytest.fixture(scope="session")
def planned() -> dict[str, PlannedStack]:
    """Each stack's committed plan (snapshots/, kept current by tests/devtools/test_snapshot.py): no Pulumi."""
    return {
        stack: PlannedStack(
            expected=StackExpectations.from_stack_file(stack_file(stack)),
            plan=committed_plan(stack),
        )
        for stack in STACKS
    }


@pytest.fixture(scope="session")
def root_client(openbao: OpenBaoServer) -> hvac.Client:
    return openbao.client()


@pytest.fixture(scope="session")
def loaded(planned: dict[str, PlannedStack], root_client: hvac.Client) -> dict[str, PlannedStack]:
    """Every policy of every stack written to OpenBao, as the program would write it."""
    for planned_stack in planned.values():
        for name, hcl in planned_stack.policies.items():
            root_client.sys.create_or_update_acl_policy(name=name, policy=hcl)
    return planned


TokenFactory = Callable[[list[str], bool], str]


@pytest.fixture(scope="session")
def token_with(root_client: hvac.Client) -> TokenFactory:
    """A token holding exactly `policies` (plus `default` when asked), cached per combination."""
    cache: dict[tuple[tuple[str, ...], bool], str] = {}

    def create(policies: list[str], default_policy: bool) -> str:
        key = (tuple(sorted(policies)), default_policy)
        if key not in cache:
            response = root_client.auth.token.create(
                policies=list(key[0]), no_default_policy=not default_policy, ttl="30m"
            )
            cache[key] = response["auth"]["client_token"]
        return cache[key]

    return create


def capabilities(root_client: hvac.Client, token: str, paths: list[str]) -> dict[str, list[str]]:
    """`sys/capabilities` for `token` on each of `paths` (one request)."""
    response = root_client.adapter.post(
        "/v1/sys/capabilities", json={"token": token, "paths": sorted(set(paths))}
    )
    body = response if isinstance(response, dict) else response.json()
    data = body.get("data", body)
    return {path: sorted(data[path]) for path in set(paths)}
