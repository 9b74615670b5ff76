"""Nested values that hold a few Outputs, resolved with one `Output.all` per value.

`pulumi.Output.from_input(value)` and `pulumi.Output.json_dumps(value)` lift *every* leaf and
container of a nested value into an Output of its own, and each lifted Output is again unwrapped
by `from_input` once resolved (pulumi/output.py, `from_input`: `Output.all(*keys).apply(...)` per
dict, `Output.all(*items)` per list). For a connection definition or an access-matrix row that is
dozens of Outputs and event-loop callbacks per value, for the one or two Outputs (role ARNs,
client ids) it really holds: ~285k `from_input` calls at 1000 pipelines.

The functions here find the Outputs a value holds, resolve them with a single `Output.all`, and
put the resolved values back in place. The result carries what `from_input`/`json_dumps` carry:
it is secret if any Output in it is secret, unknown (under preview) if any is unknown, and it
depends on the union of their resources, because `Output.all` and `apply` propagate exactly those
(tests/components/test_lifting.py compares whole plans and dependency edges both ways).

Containers are dicts (any `Mapping` is rebuilt as a dict), lists and tuples, as in `from_input`;
everything else is a leaf. An Output that resolves to a value holding Outputs is unwrapped again,
as `from_input` does. Input-type instances (`*Args` classes) are leaves here, unlike in
`from_input`: none of the values passed here holds one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import pulumi

T = TypeVar("T")


def _collect(value: Any, found: list[pulumi.Output[Any]]) -> None:
    if isinstance(value, pulumi.Output):
        found.append(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, found)


def _holds_output(value: Any) -> bool:
    found: list[pulumi.Output[Any]] = []
    _collect(value, found)
    return bool(found)


def _substitute(value: Any, resolved: Iterator[Any]) -> Any:
    """`value` with each Output replaced by the next resolved value (same traversal order)."""
    if isinstance(value, pulumi.Output):
        return next(resolved)
    if isinstance(value, Mapping):
        return {k: _substitute(v, resolved) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, resolved) for v in value]
    if isinstance(value, tuple):
        return tuple(_substitute(v, resolved) for v in value)
    return value


def _lift(value: Any, finish: Callable[[Any], T]) -> pulumi.Output[T]:
    outputs: list[pulumi.Output[Any]] = []
    _collect(value, outputs)

    def fill(resolved: list[Any]) -> Any:
        filled = _substitute(value, iter(resolved))
        if any(_holds_output(v) for v in resolved):
            return _lift(filled, finish)  # an Output of Outputs: unwrap again, like from_input
        return finish(filled)

    return pulumi.Output.all(*outputs).apply(fill)


def _identity(value: Any) -> Any:
    return value


def resolved(value: Any) -> pulumi.Output[Any]:
    """`pulumi.Output.from_input(value)` with the value's Outputs resolved by one `Output.all`."""
    return _lift(value, _identity)


def json_text(value: Any, **dumps: Any) -> pulumi.Output[str]:
    """`pulumi.Output.json_dumps(value, **dumps)`: the same text (both call `json.dumps` with
    these arguments on the resolved value), with the value's Outputs resolved by one `Output.all`.
    """
    return _lift(value, lambda filled: json.dumps(filled, **dumps))
