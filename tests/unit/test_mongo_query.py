"""The audit-filter evaluator follows MongoDB's documented query semantics (tests/unit/mongo_query.py).

Each case is an example from the MongoDB manual's operator pages
(https://www.mongodb.com/docs/manual/reference/operator/query/), so the evaluator that judges the
audit filter is itself held to MongoDB's behaviour.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.mongo_query import matches

DOC = {
    "atype": "authCheck",
    "users": [{"user": "a", "db": "$external"}, {"user": "b", "db": "admin"}],
    "param": {"command": "find", "ns": "sales.orders"},
    "tags": ["x", "y"],
    "result": 0,
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"param.command": "find"}, True),  # dotted path into an embedded document
        ({"param.command": "insert"}, False),
        ({"users.user": "b"}, True),  # dotted path through an array of documents
        ({"users.user": "c"}, False),
        ({"tags": "y"}, True),  # equality matches an array element
        ({"tags": ["x", "y"]}, True),  # ... or the whole array
        ({"tags": {"$in": ["z", "x"]}}, True),
        ({"tags": {"$in": ["z"]}}, False),
        ({"result": {"$ne": 0}}, False),
        ({"result": {"$ne": 13}}, True),
        ({"missing": {"$ne": 0}}, True),  # $ne matches documents without the field
        ({"users.user": {"$ne": "a"}}, False),  # $ne: no array element may equal it
        ({"missing": {"$exists": False}}, True),
        ({"param.ns": {"$exists": True}}, True),
        ({"param.ns": {"$regex": "^sales\\."}}, True),
        ({"result": {"$regex": "0"}}, False),  # $regex matches strings only
        ({"users": {"$elemMatch": {"user": "a", "db": "admin"}}}, False),  # one element, both
        ({"users": {"$elemMatch": {"user": "b", "db": "admin"}}}, True),
        ({"users.user": "a", "users.db": "admin"}, True),  # without $elemMatch: any elements
        ({"$or": [{"result": 13}, {"param.command": "find"}]}, True),
        ({"$and": [{"result": 0}, {"param.command": "insert"}]}, False),
        ({"result": False}, False),  # booleans are not numbers in BSON
        ({"result": {"$eq": 0}}, True),
    ],
)
def test_documented_semantics(query: dict[str, Any], expected: bool) -> None:
    assert matches(DOC, query) is expected


@pytest.mark.parametrize("query", [{"result": {"$gt": 0}}, {"$nor": [{"result": 0}]}])
def test_unsupported_operators_raise(query: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not supported"):
        matches(DOC, query)
