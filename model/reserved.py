"""Reserved pipeline names: pipeline names whose derived names are taken for something else.

A pipeline's names (its IAM role, Atlas role, Okta app label, Vault policy) come from Naming's
methods that take a pipeline; every other Naming method, the audit paths and the bootstrap's
names are the stack's own. Both sets are enumerated from Naming itself, so a new method joins
the check without a list to update.
"""

from __future__ import annotations

import inspect

from model.access import PIPELINE_NAME_PATTERN, VAULT_AUDIT_TYPES
from model.naming import Naming

# What the bootstrap (bootstrap/) names in a stack's environment, as `<base>-<suffix>`; a
# trailing `*` is a family that CI's permissions are scoped to by wildcard (`<base>-github-*`
# IAM roles, `<base>-ci-*` Vault policies, which the structure workflow may never write).
# tests/model/test_reserved.py checks every name the bootstrap plans is covered.
BOOTSTRAP_NAMES: tuple[str, ...] = ("github-*", "ci-*", "workload-boundary", "pulumi")


def _naming_methods() -> list[tuple[str, tuple[str, ...]]]:
    """(method, parameter names) of every public Naming method, in declaration order."""
    return [
        (name, tuple(inspect.signature(member).parameters)[1:])
        for name, member in vars(Naming).items()
        if not name.startswith("_") and inspect.isfunction(member)
    ]


def stack_names(naming: Naming) -> frozenset[str]:
    """Every name the program and the bootstrap give something that is not a pipeline's own:
    each Naming method without a pipeline argument, each audit path, the bootstrap's names."""
    names: set[str] = {f"{naming.base}-{n}" for n in BOOTSTRAP_NAMES if not n.endswith("*")}
    for name, params in _naming_methods():
        method = getattr(naming, name)
        if params == ():
            names.add(method())
        elif params == ("audit_type",):
            names.update(method(kind) for kind in VAULT_AUDIT_TYPES)
        elif params == ("project_id", "home"):
            # Connection names live under the database mount's `config/`, pipelines' roles under
            # `roles/`: Vault keeps the two apart, so neither can take the other's name.
            continue
        elif params == ("account_id",):
            # S3 bucket names: no name derived from a pipeline names a bucket.
            continue
        elif params != ("pipeline",):
            # A new kind of argument needs its values listed here, or names would go unchecked.
            raise TypeError(f"Naming.{name}{params}: list its argument values in stack_names")
    return frozenset(names)


def pipeline_names(naming: Naming, pipeline: str) -> frozenset[str]:
    """Every name derived from one pipeline's name (each Naming method taking `pipeline`)."""
    return frozenset(
        getattr(naming, name)(pipeline)
        for name, params in _naming_methods()
        if params == ("pipeline",)
    )


def collides(naming: Naming, pipeline: str) -> bool:
    """A name derived from the pipeline is one the stack uses otherwise, or in a CI family."""
    families = tuple(f"{naming.base}-{n[:-1]}" for n in BOOTSTRAP_NAMES if n.endswith("*"))
    taken = stack_names(naming)
    return any(n in taken or n.startswith(families) for n in pipeline_names(naming, pipeline))


def reserved_pipeline_names(naming: Naming) -> tuple[str, ...]:
    """The pipeline names `collides` refuses, sorted; `stem*` stands for a family.

    Found by inverting each pipeline-derived name template (`<before>{pipeline}<after>`) against
    every stack name and family, so the list follows Naming and BOOTSTRAP_NAMES.
    """
    marker = "\x00"
    families = [f"{naming.base}-{n}" for n in BOOTSTRAP_NAMES if n.endswith("*")]
    found: set[str] = set()
    for name, params in _naming_methods():
        if params != ("pipeline",):
            continue
        build = getattr(naming, name)
        before, _, after = build(marker).partition(marker)
        for taken in (*stack_names(naming), *families):
            if not (taken.startswith(before) and taken.endswith(after)):
                continue
            candidate = taken[len(before) : len(taken) - len(after)]
            if (candidate.endswith("*") and not after) or (
                PIPELINE_NAME_PATTERN.match(candidate) and build(candidate) == taken
            ):
                found.add(candidate)
    return tuple(sorted(found))
