"""Config namespaces: a stack file holds this project's keys and its providers' settings only.

Pulumi passes every key of a stack file to the program, and nothing reads a key of a namespace
no one owns: a misspelled `airflow-atlas-identiy:pipelines` would be ignored without a word, and
the stack deployed without those pipelines. So every key is checked here: this project's against
the settings table (infra/settings/keys.py), a provider's against the settings its SDK reads
(`pulumi_<provider>/config/vars.py`), and any other namespace is refused.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from model.access import Problem

# The providers whose SDK the program imports and that take provider config (pulumi_tls and
# pulumiverse_time take none), and the engine's own namespace (`pulumi:tags`, ...).
PROVIDER_NAMESPACES = ("aws", "mongodbatlas", "okta", "vault")
ENGINE_NAMESPACE = "pulumi"
# How each generated SDK reads its provider settings: `__config__.get('orgName')`,
# `__config__.get_bool('insecure')`, `__config__.get_object('assumeRole')`, ...
_SDK_READ = re.compile(r"__config__\.get(?:_bool|_int|_float|_object)?\('([A-Za-z0-9_]+)'")
_LISTED_AT_MOST = 20


@functools.cache
def provider_settings(namespace: str) -> frozenset[str]:
    """The settings the installed `pulumi_<namespace>` SDK reads (its config/vars.py)."""
    spec = importlib.util.find_spec(f"pulumi_{namespace}")
    locations = spec.submodule_search_locations if spec else None
    if not locations:
        raise RuntimeError(f"the pulumi_{namespace} SDK is not installed")
    source = (Path(next(iter(locations))) / "config" / "vars.py").read_text()
    return frozenset(_SDK_READ.findall(source))


def namespace_problems(keys: Iterable[object], *, project: str) -> list[Problem]:
    """A problem for every key outside the project's namespace that nothing reads.

    `keys`: the stack file's keys that are not the project's (`okta:orgName`, `aws:region`, ...).
    """
    allowed = (project, *PROVIDER_NAMESPACES, ENGINE_NAMESPACE)
    problems: list[Problem] = []
    for key in keys:
        if not isinstance(key, str) or ":" not in key:
            problems.append(
                Problem(
                    path=str(key),
                    message=f"has no namespace; write {project}:{key} (or a provider's, "
                    f"e.g. okta:{key})",
                )
            )
            continue
        namespace, name = key.split(":", 1)
        if namespace in PROVIDER_NAMESPACES:
            problems.extend(_provider_problems(namespace, name))
        elif namespace not in allowed:
            problems.append(Problem(path=key, message=_foreign(namespace, name, allowed)))
    return problems


def first_order(
    problems: list[Problem], providers: Mapping[Any, Any] | None, *, project: str
) -> list[Problem]:
    """`problems` without "is required" for a key written under a misspelled project namespace:
    the namespace is the one problem, reported at the key as written."""
    misspelled = misspelled_project_keys(providers or {}, project=project)
    return [
        p for p in problems if not (p.path in misspelled and p.message.startswith("is required"))
    ]


def misspelled_project_keys(keys: Iterable[object], *, project: str) -> set[str]:
    """The bare names of keys written under a misspelling of the project's namespace: the one
    problem is the namespace, so "is required" is not reported again for them."""
    return {
        key.split(":", 1)[1]
        for key in keys
        if isinstance(key, str)
        and ":" in key
        and _close_namespace(key.split(":", 1)[0], (project,)) == project
        and not key.startswith(f"{project}:")
    }


def _close_namespace(namespace: str, allowed: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(namespace, list(allowed), n=1, cutoff=0.75)
    return close[0] if close else None


def _foreign(namespace: str, name: str, allowed: tuple[str, ...]) -> str:
    close = _close_namespace(namespace, allowed)
    guess = f"did you mean {close}:{name}? " if close else ""
    return (
        f"unknown namespace '{namespace}': nothing reads this key; {guess}"
        f"this stack's settings are {allowed[0]}:<key>, provider settings "
        f"{', '.join(f'{n}:<key>' for n in allowed[1:])}"
    )


def _provider_problems(namespace: str, name: str) -> list[Problem]:
    known = provider_settings(namespace)
    if name in known:
        return []
    close = difflib.get_close_matches(name, sorted(known), n=1)
    if close:
        fix = f"did you mean {namespace}:{close[0]}?"
    elif len(known) <= _LISTED_AT_MOST:
        fix = f"its settings are {', '.join(sorted(known))}"
    else:
        fix = f"pulumi_{namespace}/config/vars.py lists its settings"
    return [
        Problem(
            path=f"{namespace}:{name}",
            message=f"not a setting of the {namespace} provider; {fix}",
        )
    ]
