"""The recording monitor: what the program asked the engine to register, as the plan shows it.

Pulumi's `MockMonitor` answers registrations but keeps only the resulting state. The plan also
needs what only the request carries: parent, `protect` and the other resource options, the
provider reference, the dependency edges per input, the replacement trigger, and the outputs the
stack exports. `RecordingMonitor` keeps one `Registration` per resource, in registration order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from devtools.offline.mocks import PlanMocks
from devtools.offline.values import mask_secrets

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True, kw_only=True)
class Registration:
    """One resource as the program declared it (inputs keep their secret wrappers)."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    protect: bool
    inputs: dict[str, Any]
    replacement_trigger: Any = None
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()
    provider: str = ""
    """The provider reference (`urn::id`) the engine would use, "" for none or a component."""
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Engine input name -> URNs of the resources whose outputs flowed into it."""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that also records parent, protect and the stack's outputs."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine forms them: the parent's full qualified type, minus the stack."""
        qualified = type_
        if parent:
            parent_qualified = parent.split("::")[2]
            if parent_qualified != STACK_TYPE:
                qualified = f"{parent_qualified}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{qualified}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        trigger = None
        if request.HasField("replacement_trigger"):
            trigger = mask_secrets(json_format.MessageToDict(request.replacement_trigger))
            if isinstance(self.mocks, PlanMocks):
                # Before super() asks the mocks for outputs: ids derived from the trigger.
                self.mocks.replacement_triggers[(request.type, request.name)] = trigger
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == STACK_TYPE:
            self.stack_urn = response.urn
        else:
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    protect=bool(request.protect),
                    inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                    replacement_trigger=trigger,
                    retain_on_delete=bool(request.retainOnDelete),
                    ignore_changes=tuple(request.ignoreChanges),
                    provider=request.provider,
                    dependencies=tuple(request.dependencies),
                    property_dependencies={
                        key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn:
            self.stack_outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    def by_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str, name: str) -> Registration:
        found = [r for r in self.registrations if r.type == type_token and r.name == name]
        if len(found) != 1:
            names = sorted(r.name for r in self.by_type(type_token))
            raise AssertionError(f"expected one {type_token} named {name}, found {names}")
        return found[0]
