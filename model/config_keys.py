"""The declaration of a config key (type, meaning, default, constraints, example).

Shared by the program's settings table (infra/settings/keys.py) and the bootstrap's
(bootstrap/keys.py); both are rendered into their `Pulumi.yaml` and docs/settings.md by
`python -m infra.settings.generate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from model.access import Tier

ConfigType = Literal["string", "integer", "boolean", "array", "object"]


@dataclass(frozen=True, kw_only=True)
class Key:
    """A config key: its type, what it means, what leaving it out does, and a valid example."""

    type: ConfigType
    description: str
    structured: bool = False
    """An object or a list of objects: Pulumi.yaml's schema cannot type it (comment block only)."""
    required: bool = False
    """Every stack sets it. Only these are declared typed in Pulumi.yaml: the CLI refuses a stack
    that lacks a declared key without a default (pulumi/pulumi project_test.go,
    TestStackConfigErrorsWhenMissingStackValueForConfigTypeWithNoDefault)."""
    default: Any = None
    """The value the program uses when the key is unset, in every tier (`<stack>`, `<prefix>`
    stand for the stack name and namePrefix). None: no literal default, see `unset`."""
    prod_default: Any = None
    """The prod tier's default, when it differs from `default`."""
    unset: str = ""
    """What leaving the key out means when there is no literal default."""
    constraints: str = ""
    example: str = ""
    """A valid value as YAML (several lines for structured keys)."""

    def default_for(self, tier: Tier) -> Any:
        if tier is Tier.PROD and self.prod_default is not None:
            return self.prod_default
        return self.default
