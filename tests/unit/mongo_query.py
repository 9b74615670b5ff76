"""A MongoDB query-document evaluator for exactly the operators the Atlas audit filter uses.

Semantics follow the MongoDB manual ("Query and Projection Operators",
https://www.mongodb.com/docs/manual/reference/operator/query/):
- dotted paths descend into embedded documents and, through arrays, into each element
  ("Query an Array of Embedded Documents"); a field condition holds if any reached value
  satisfies it, or the array itself does (`{"tags": "a"}` matches `{"tags": ["a", "b"]}`);
- `$eq`/implicit equality and `$in` match an array field when any element matches;
- `$ne` is the negation of `$eq` (so it holds for a missing field) and `$exists` tests presence;
- `$regex` matches strings only; `$elemMatch` needs one array element satisfying every condition;
- `$and`/`$or` combine whole query documents.
Anything else raises, so the filter cannot silently grow an operator this evaluator ignores.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_MISSING = object()


def _values(document: Any, path: Sequence[str]) -> list[Any]:
    """Every value the dotted path reaches (arrays fanned out), or [_MISSING]."""
    if not path:
        return [document]
    if isinstance(document, Mapping):
        if path[0] not in document:
            return [_MISSING]
        return _values(document[path[0]], path[1:])
    if isinstance(document, list):
        found = [v for item in document for v in _values(item, path)]
        return [v for v in found if v is not _MISSING] or [_MISSING]
    return [_MISSING]


def _candidates(value: Any) -> list[Any]:
    """A value and, for an array, each of its elements (MongoDB's array matching)."""
    return [value, *value] if isinstance(value, list) else [value]


def _same(a: Any, b: Any) -> bool:
    """BSON equality: numbers compare across int/double, booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _equals(value: Any, wanted: Any) -> bool:
    if value is _MISSING:
        return wanted is None
    return any(_same(c, wanted) for c in _candidates(value))


def _condition(value: Any, condition: Any) -> bool:
    """Does one reached value satisfy a field condition ({$op: ...} or a literal)?"""
    if not (isinstance(condition, Mapping) and condition and all(k[:1] == "$" for k in condition)):
        return _equals(value, condition)
    for op, arg in condition.items():
        if op == "$eq":
            ok = _equals(value, arg)
        elif op == "$ne":
            ok = not _equals(value, arg)
        elif op == "$in":
            ok = any(_equals(value, a) for a in arg)
        elif op == "$exists":
            ok = (value is not _MISSING) is bool(arg)
        elif op == "$regex":
            ok = value is not _MISSING and any(
                isinstance(c, str) and re.search(arg, c) is not None for c in _candidates(value)
            )
        elif op == "$elemMatch":
            ok = isinstance(value, list) and any(
                isinstance(item, Mapping) and matches(item, arg) for item in value
            )
        else:
            raise ValueError(f"operator {op} is not supported by this evaluator")
        if not ok:
            return False
    return True


def matches(document: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    """True if `document` satisfies the MongoDB query document `query`."""
    for key, condition in query.items():
        if key == "$and":
            ok = all(matches(document, q) for q in condition)
        elif key == "$or":
            ok = any(matches(document, q) for q in condition)
        elif key.startswith("$"):
            raise ValueError(f"operator {key} is not supported by this evaluator")
        else:
            reached = _values(document, key.split("."))
            negative = isinstance(condition, Mapping) and set(condition) <= {"$ne"} and condition
            if negative:
                # $ne holds only if no reached value equals the operand.
                ok = all(_condition(v, condition) for v in reached)
            else:
                ok = any(_condition(v, condition) for v in reached)
        if not ok:
            return False
    return True
