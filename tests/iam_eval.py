"""Principal Mapper's local IAM policy simulation, for tests that evaluate the plan's policies.

principalmapper 1.1.5 imports `collections.Mapping`, which Python 3.10 removed (it moved to
`collections.abc` in 3.3); the alias below restores it for that import only.
"""

from __future__ import annotations

import collections
import collections.abc
from collections.abc import Mapping, Sequence
from typing import Any

if not hasattr(collections, "Mapping"):
    collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
    collections.MutableMapping = collections.abc.MutableMapping  # type: ignore[attr-defined]

from principalmapper.common import Node, Policy
from principalmapper.querying.query_interface import local_check_authorization_full

__all__ = ["EVERYTHING", "Node", "allowed", "principal"]

EVERYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def principal(arn: str, *policies: dict[str, Any]) -> Node:
    """An IAM role or user with these identity policies (inline), no boundary, no groups."""
    is_role = ":role/" in arn
    return Node(
        arn,
        ("AROA" if is_role else "AIDA") + arn.rsplit("/", 1)[1].upper()[:17],
        [Policy(arn, f"inline-{i}", doc) for i, doc in enumerate(policies)],
        [],
        {"Version": "2012-10-17", "Statement": []} if is_role else None,
        None,
        0 if is_role else 1,
        not is_role,
        False,
        None,
        False,
        {},
    )


def allowed(
    who: Node,
    action: str,
    resource: str,
    resource_policy: dict[str, Any],
    owner: str,
    context: Mapping[str, str | Sequence[str]] | None = None,
) -> bool:
    """Whether AWS would allow `who` to call `action` on `resource` (explicit denies first, then
    the resource policy, with KMS' rule that the key policy must authorize, then IAM)."""
    return bool(
        local_check_authorization_full(who, action, resource, context or {}, resource_policy, owner)
    )
