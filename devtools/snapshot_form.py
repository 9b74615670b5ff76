"""The snapshots' review-friendly JSON form, importable without Pulumi.

A string holding a JSON object or array becomes `{"__json__": parsed}` (IAM policies and options
diff line by line); `collapse` gives back exactly the plan `python -m infra.plan --json` writes.
Used by devtools/snapshot.py and by the Pulumi-free test suites (tests/plans.py).
"""

from __future__ import annotations

import json
from typing import Any

JSON_MARK = "__json__"


def expand(value: Any) -> Any:
    """Strings holding a JSON object or array become {"__json__": parsed}, recursively."""
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, dict | list) and json.dumps(parsed) == value:
            return {JSON_MARK: expand(parsed)}
    return value


def collapse(value: Any) -> Any:
    """The inverse of `expand`."""
    if isinstance(value, dict):
        if set(value) == {JSON_MARK}:
            return json.dumps(collapse(value[JSON_MARK]))
        return {k: collapse(v) for k, v in value.items()}
    if isinstance(value, list):
        return [collapse(v) for v in value]
    return value
