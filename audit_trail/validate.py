"""Find the first unreadable line of an input, to name it when the engine refuses a file.

Only run after DuckDB failed or produced a row without its required fields: the normal path
never parses the logs in Python. Each check follows the format's documentation (the module of
each relation's SQL cites it); a line passes when the SQL can read it.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from audit_trail.inputs import is_gzip

LineCheck = Callable[[Any], str | None]

_NUMBER_LONG = re.compile(r"^-?[0-9]+$")


def _iso_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _struct_list(value: Any, keys: tuple[str, ...]) -> bool:
    return value is None or (
        isinstance(value, list)
        and all(
            isinstance(item, dict) and all(isinstance(item.get(k, ""), str) for k in keys)
            for item in value
        )
    )


def atlas_message_problem(doc: Any) -> str | None:
    """What makes `doc` unreadable as a `mongo` schema audit message, or None."""
    if not isinstance(doc, dict):
        return "not a JSON object"
    if not isinstance(doc.get("atype"), str):
        return "no atype string"
    ts = doc.get("ts")
    date = ts.get("$date") if isinstance(ts, dict) else None
    if isinstance(date, dict):
        long = date.get("$numberLong")
        if not (isinstance(long, str) and _NUMBER_LONG.match(long)):
            return 'ts.$date is neither ISO 8601 nor {"$numberLong": "<ms>"}'
    elif not _iso_time(date):
        return "ts is not {$date: <ISO 8601 time>}"
    if not _struct_list(doc.get("users"), ("user", "db")):
        return "users is not an array of {user, db}"
    if not _struct_list(doc.get("roles"), ("role", "db")):
        return "roles is not an array of {role, db}"
    if "param" in doc and not isinstance(doc["param"], dict):
        return "param is not an object"
    if not isinstance(doc.get("result", 0), int):
        return "result is not an integer"
    return None


def vault_entry_problem(doc: Any) -> str | None:
    """What makes `doc` unreadable as a Vault file audit entry, or None."""
    if not isinstance(doc, dict):
        return "not a JSON object"
    if doc.get("type") not in ("request", "response"):
        return 'type is not "request" or "response"'
    if not _iso_time(doc.get("time")):
        return "time is not an ISO 8601 time"
    for key in ("auth", "request", "response"):
        if key in doc and not isinstance(doc[key], dict | None):
            return f"{key} is not an object"
    return None


def _records_problem(doc: Any) -> str | None:
    if not isinstance(doc, dict) or not isinstance(doc.get("Records"), list):
        return 'not a CloudTrail log file: no {"Records": [...]} object'
    for index, record in enumerate(doc["Records"]):
        if not isinstance(record, dict) or not _iso_time(record.get("eventTime")):
            return f"Records[{index}] has no ISO 8601 eventTime"
    return None


def _digest_problem(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return "not a JSON object"
    for key in ("digestStartTime", "digestEndTime"):
        if not _iso_time(doc.get(key)):
            return f"not a CloudTrail digest file: no ISO 8601 {key}"
    if not _struct_list(doc.get("logFiles"), ("s3Object",)):
        return "logFiles is not an array of {s3Object, ...}"
    return None


def _text(path: Path) -> Iterator[str]:
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


def first_bad_line(path: Path, check: LineCheck) -> str | None:
    """`<path>:<line>: <problem>` for the first unreadable JSON line of `path`, or None."""
    line_no = 0
    try:
        for line_no, line in enumerate(_text(path), start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as error:
                return f"{path}:{line_no}: not JSON ({error.msg} at column {error.colno})"
            problem = check(doc)
            if problem is not None:
                return f"{path}:{line_no}: {problem}"
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        return f"{path}:{line_no + 1}: cannot be read ({type(error).__name__}: {error})"
    return None


def first_bad_document(path: Path, check: LineCheck) -> str | None:
    """`<path>:<line>: <problem>` when the whole file is not one readable JSON document."""
    try:
        text = "".join(_text(path))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        return f"{path}:1: cannot be read ({type(error).__name__}: {error})"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        return f"{path}:{error.lineno}: not JSON ({error.msg} at column {error.colno})"
    problem = check(doc)
    return None if problem is None else f"{path}:1: {problem}"


def locate(paths: Sequence[Path], kind: str) -> str | None:
    """The first problem in `paths` read as `kind` (atlas, vault, cloudtrail, digest)."""
    for path in paths:
        if kind == "atlas":
            found = first_bad_line(path, atlas_message_problem)
        elif kind == "vault":
            found = first_bad_line(path, vault_entry_problem)
        elif kind == "cloudtrail":
            found = first_bad_document(path, _records_problem)
        elif kind == "digest":
            found = first_bad_document(path, _digest_problem)
        else:
            raise ValueError(f"unknown input kind {kind!r}")
        if found is not None:
            return found
    return None
