"""Typed reads of raw config values that record every problem with its key path and the fix."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from model.access import Problem

ATLAS_ID = re.compile(r"^[0-9a-f]{24}$")
SECRETS_PREFIX = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,200}$")
SECRETS_PREFIX_HINT = "use letters, digits and / _ + = . @ -"
ATLAS_ID_HINT = "use the 24-character hex id from the Atlas UI"


class Reader:
    """Typed access to raw values that records a Problem, with its path, for every bad value."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path=path, message=message))

    def unknown_keys(self, obj: Mapping[str, Any], known: set[str], at: str) -> None:
        for key in sorted(set(obj) - known):
            self.fail(
                f"{at}.{key}" if at else key,
                f"unknown key; known keys are {', '.join(sorted(known))}",
            )

    def string(
        self,
        obj: Mapping[str, Any],
        key: str,
        at: str,
        *,
        pattern: re.Pattern[str] | None = None,
        hint: str = "",
        default: str | None = None,
        required: bool = True,
    ) -> str | None:
        path = f"{at}.{key}" if at else key
        value = obj.get(key, default)
        if value is None:
            if required:
                self.fail(path, f"is required{'; ' + hint if hint else ''}")
            return None
        if not isinstance(value, str) or not value:
            self.fail(path, f"must be a non-empty string{'; ' + hint if hint else ''}")
            return None
        if pattern is not None and not pattern.match(value):
            self.fail(path, f"'{value}' is not valid; {hint}")
            return None
        return value

    def boolean(self, obj: Mapping[str, Any], key: str, default: bool) -> bool:
        value = self.tristate(obj, key, default)
        return default if value is None else value

    def tristate(self, obj: Mapping[str, Any], key: str, default: bool) -> bool | None:
        """A boolean, or None when the value is not one (reported): checks that depend on it
        then assume neither value."""
        value = obj.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"'{value}' is not a boolean; use true or false")
            return None
        return value

    def strings(self, obj: Mapping[str, Any], key: str, at: str) -> tuple[str, ...] | None:
        path = f"{at}.{key}" if at else key
        value = obj.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(path, "must be a list of non-empty strings")
            return None
        return tuple(value)

    def objects(self, obj: Mapping[str, Any], key: str, at: str) -> list[Mapping[str, Any]]:
        path = f"{at}.{key}" if at else key
        value = obj.get(key)
        if value is None:
            self.fail(path, "is required")
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(path, "must be a list of objects")
            return []
        return value

    def choice(
        self,
        obj: Mapping[str, Any],
        key: str,
        at: str,
        choices: tuple[str, ...],
        *,
        default: str | None = None,
    ) -> str | None:
        path = f"{at}.{key}" if at else key
        value = obj.get(key, default)
        if value not in choices:
            shown = "(missing)" if value is None else f"'{value}'"
            self.fail(path, f"{shown} is not valid; use one of {', '.join(choices)}")
            return None
        return str(value)


def integer(
    r: Reader,
    values: Mapping[str, Any],
    key: str,
    default: int,
    low: int,
    high: int,
    why: str = "",
) -> int:
    value = values.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        r.fail(key, f"'{value}' is not an integer")
        return default
    if not low <= value <= high:
        r.fail(key, f"{value} is outside {low}..{high}{why}; use a value in that range")
    return value


def present(value: str | None) -> str:
    """A required value; every missing one has already been reported as a Problem."""
    if value is None:
        raise RuntimeError("a required setting is missing but no problem was recorded")
    return value
