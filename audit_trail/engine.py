"""Run the evidence SQL on an embedded DuckDB and write the ledger and the findings.

DuckDB reads the logs where they are (`read_json_objects`, gzip or plain) into the input
relations (audit_trail/sql/README.md); everything after that is the evidence SQL, in
`audit_trail.sql.RELATIONS` order. Only the readers and the JSON writers here are DuckDB's own.
A DuckDB error while reading an input is turned into the file and line that caused it
(audit_trail/validate.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from audit_trail import sql
from audit_trail.inputs import InputError, InputFiles, split_by_compression
from audit_trail.model import StackModel
from audit_trail.validate import locate

# The raw inputs are read as JSON objects (`read_json_objects`) and their fields extracted once:
# DuckDB's `read_json` with explicit `columns` costs milliseconds per file, and an Atlas export
# holds a file per host and 5 minutes. Structures below are json_transform's: a field not listed
# is not read, a listed field that is absent (or of another type) reads as NULL.
# The Atlas message fields the evidence reads, flattened (audit_trail/sql/README.md, atlas_raw):
# one json_extract_string of all paths parses each message once and builds no nested values.
ATLAS_FIELDS: tuple[tuple[str, str], ...] = (
    ("atype", "$.atype"),
    ("ts_date", '$.ts."$date"'),
    ("conn_uuid", '$.uuid."$binary"'),
    ("user_name", "$.users[0].user"),
    ("user_db", "$.users[0].db"),
    ("role_name", "$.roles[0].role"),
    ("role_db", "$.roles[0].db"),
    ("command", "$.param.command"),
    ("ns", "$.param.ns"),
    ("param_user", "$.param.user"),
    ("param_db", "$.param.db"),
    ("mechanism", "$.param.mechanism"),
    ("old_ns", "$.param.old"),
    ("result", "$.result"),
)
CLOUDTRAIL_STRUCTURE: Mapping[str, Any] = {
    "Records": [
        {
            "eventTime": "VARCHAR",
            "eventSource": "VARCHAR",
            "eventName": "VARCHAR",
            "awsRegion": "VARCHAR",
            "recipientAccountId": "VARCHAR",
            "errorCode": "VARCHAR",
            "eventID": "VARCHAR",
            "userIdentity": "JSON",
            "requestParameters": "JSON",
            "responseElements": "JSON",
        }
    ]
}
DIGEST_STRUCTURE: Mapping[str, Any] = {
    "digestStartTime": "VARCHAR",
    "digestEndTime": "VARCHAR",
    "digestS3Object": "VARCHAR",
    "previousDigestS3Object": "VARCHAR",
    "awsAccountId": "VARCHAR",
    "logFiles": [{"s3Object": "VARCHAR"}],
}
VAULT_STRUCTURE: Mapping[str, Any] = {
    "time": "VARCHAR",
    "type": "VARCHAR",
    "auth": "JSON",
    "request": "JSON",
    "response": "JSON",
}
# A CloudTrail log file is one JSON document; DuckDB's default cap is 16 MiB per document and
# the reader's buffer is twice the cap, which counts against the memory limit.
MAX_DOCUMENT_BYTES = 16 << 20
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%gZ"


@dataclass(frozen=True, kw_only=True)
class Settings:
    max_gap_seconds: int = 900
    """A hole longer than this in a host's Atlas audit log is a gap (3 export intervals)."""
    clock_skew_seconds: int = 5
    """Tolerance between the clocks of Atlas, AWS and Vault when a window covers a time."""
    allowed_users: tuple[str, ...] = ()
    """Database users the stack does not create that the operator vouches for."""
    threads: int = 2
    memory_limit: str = "700MB"
    temp_directory: Path | None = None


@dataclass(frozen=True, kw_only=True)
class Outcome:
    ledger_rows: int
    attributed_rows: int
    findings: dict[str, int]
    """Findings per kind."""
    report: dict[str, list[tuple[Any, ...]]]
    """Rows of each report relation."""
    timeline_unit: str
    """The time bucket of `report_timeline` rows: minute, hour or day."""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    return _quote(str(value))


def _file_list(paths: Iterable[Path]) -> str:
    return "[" + ", ".join(_quote(str(p)) for p in paths) + "]"


def _objects(paths: Sequence[Path], fmt: str) -> list[str]:
    """`read_json_objects` calls over `paths`, one per compression."""
    return [
        f"read_json_objects({_file_list(group)}, format = {_quote(fmt)}, "
        f"compression = {_quote(compression)}, filename = true, "
        f"maximum_object_size = {MAX_DOCUMENT_BYTES})"
        for group, compression in zip(split_by_compression(paths), ("gzip", "none"), strict=True)
        if group
    ]


def _read_objects(paths: Sequence[Path], structure: Mapping[str, Any], fmt: str) -> str:
    """The objects of `paths` (JSON lines, or one document per file) as typed columns, with
    `source_file`."""
    shape = _quote(json.dumps(structure))
    calls = [
        f"SELECT unnest(json_transform(json, {shape})), filename AS source_file FROM {call}"
        for call in _objects(paths, fmt)
    ]
    if not calls:  # no file: an empty relation of the same columns
        return f"SELECT unnest(json_transform('{{}}', {shape})), '' AS source_file LIMIT 0"
    return " UNION ALL ".join(calls)


def _read_atlas(paths: Sequence[Path]) -> str:
    """atlas_raw: the Atlas messages of `paths`, their fields flattened (ATLAS_FIELDS), with
    the file's key (`hash` of its path: a number per message, not a copy of the path)."""
    extract = "[" + ", ".join(_quote(path) for _, path in ATLAS_FIELDS) + "]"
    columns = ", ".join(
        f"CAST(v[{i}] AS INTEGER) AS {name}" if name == "result" else f"v[{i}] AS {name}"
        for i, (name, _) in enumerate(ATLAS_FIELDS, start=1)
    )
    calls = [
        f"SELECT {columns}, hash(filename) AS file_id FROM (SELECT "
        f"json_extract_string(json, {extract}) AS v, filename FROM {call})"
        for call in _objects(paths, "newline_delimited")
    ]
    return " UNION ALL ".join(calls)


class Evidence:
    """One DuckDB database holding the inputs, the model and the evidence relations."""

    def __init__(self, *, model: StackModel, files: InputFiles, settings: Settings) -> None:
        self.model = model
        self.files = files
        self.settings = settings
        config: dict[str, Any] = {
            "threads": settings.threads,
            "memory_limit": settings.memory_limit,
            "preserve_insertion_order": False,
        }
        if settings.temp_directory is not None:
            config["temp_directory"] = str(settings.temp_directory)
        self.db = duckdb.connect(":memory:", config=config)
        self.db.execute("SET TimeZone = 'UTC'")
        self.db.execute(sql.text(sql.DUCKDB_MACROS))

    # -- inputs ----------------------------------------------------------------------------

    def _create(self, name: str, query: str, *, paths: Sequence[Path], kind: str) -> None:
        try:
            self.db.execute(f"CREATE TEMP TABLE {name} AS {query}")
        except duckdb.Error as error:
            found = locate(paths, kind)
            first_line = str(error).strip().splitlines()[0]
            raise InputError(found or f"{kind} input unreadable: {first_line}") from None

    def _check(self, query: str, *, paths: Sequence[Path], kind: str, problem: str) -> None:
        """Fail naming the first bad line of the first file `query` returns."""
        row = self.db.execute(query).fetchone()
        if row is None:
            return
        bad = [p for p in paths if str(p) == row[0]] or list(paths)
        raise InputError(locate(bad, kind) or f"{row[0]}: {problem}")

    def load_inputs(self) -> None:
        f = self.files
        self.db.execute(f"CREATE TEMP VIEW atlas_raw AS {_read_atlas(f.atlas)}")
        self.db.execute(
            "CREATE TEMP TABLE atlas_raw_files AS SELECT hash(f) AS file_id, f AS source_file "
            f"FROM unnest({_file_list(f.atlas)}) AS t (f)"
        )
        trail = _read_objects(f.cloudtrail_logs, CLOUDTRAIL_STRUCTURE, "auto")
        self._create("cloudtrail_raw", trail, paths=f.cloudtrail_logs, kind="cloudtrail")
        self._check(
            "SELECT source_file FROM cloudtrail_raw WHERE Records IS NULL LIMIT 1",
            paths=f.cloudtrail_logs,
            kind="cloudtrail",
            problem='not a CloudTrail log file: no {"Records": [...]}',
        )
        self.db.execute(
            "CREATE TEMP TABLE cloudtrail_records AS SELECT unnest(r), source_file "
            "FROM (SELECT unnest(Records) AS r, source_file FROM cloudtrail_raw)"
        )
        self.db.execute(
            "CREATE TEMP TABLE cloudtrail_files AS SELECT DISTINCT source_file FROM cloudtrail_raw"
        )
        digests = _read_objects(f.cloudtrail_digests, DIGEST_STRUCTURE, "auto")
        self._create("cloudtrail_digests", digests, paths=f.cloudtrail_digests, kind="digest")
        self._check(
            "SELECT source_file FROM cloudtrail_digests "
            "WHERE digestStartTime IS NULL OR digestEndTime IS NULL LIMIT 1",
            paths=f.cloudtrail_digests,
            kind="digest",
            problem="not a CloudTrail digest file",
        )
        vault = _read_objects(f.vault, VAULT_STRUCTURE, "newline_delimited")
        self._create("vault_records", vault, paths=f.vault, kind="vault")
        self._check(
            "SELECT source_file FROM vault_records WHERE type IS NULL OR time IS NULL LIMIT 1",
            paths=f.vault,
            kind="vault",
            problem="a Vault audit entry without type or time",
        )

    def _table(self, name: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
        """A table of literal rows (one statement: row-by-row inserts cost ms each)."""
        self.db.execute(f"CREATE TEMP TABLE {name} ({columns})")
        if rows:
            values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
            self.db.execute(f"INSERT INTO {name} VALUES {values}")

    def load_model(self) -> None:
        m, s = self.model, self.settings
        self._table(
            "model_pipelines",
            "pipeline VARCHAR, auth_mode VARCHAR, role_arn VARCHAR, atlas_user VARCHAR, "
            "atlas_db VARCHAR, custom_role VARCHAR, project_id VARCHAR, cluster VARCHAR, "
            "vault_creds_path VARCHAR, credential_seconds BIGINT, connection_id VARCHAR",
            [
                (
                    p.name,
                    p.auth_mode,
                    p.role_arn,
                    p.atlas_user,
                    p.atlas_db,
                    p.custom_role,
                    p.project_id,
                    p.cluster,
                    p.vault_creds_path,
                    p.credential_seconds,
                    p.connection_id,
                )
                for p in m.pipelines
            ],
        )
        self._table(
            "model_grants",
            "pipeline VARCHAR, database_name VARCHAR, collection_name VARCHAR",
            [(g.pipeline, g.database, g.collection) for g in m.grants],
        )
        self._table("model_allowed_users", "user_name VARCHAR", [(u,) for u in s.allowed_users])

    def _timeline_unit(self) -> str:
        row = self.db.execute("SELECT max(ts) - min(ts) FROM atlas_messages").fetchone()
        span = row[0] if row else None
        seconds = span.total_seconds() if span is not None else 0
        return "minute" if seconds <= 6 * 3600 else "hour" if seconds <= 14 * 86400 else "day"

    # -- evidence --------------------------------------------------------------------------

    def evaluate(self) -> None:
        """Every evidence relation as a table, in dependency order."""
        for name in sql.RELATIONS:
            if name == sql.ATTRIBUTION[0]:
                self.db.execute(
                    "CREATE TEMP TABLE audit_settings AS SELECT "
                    f"{int(self.settings.max_gap_seconds)} AS max_gap_seconds, "
                    f"{int(self.settings.clock_skew_seconds)} AS clock_skew_seconds, "
                    f"{_quote(self._timeline_unit())} AS timeline_unit"
                )
            if name == "atlas_messages":  # the one pass over the Atlas logs
                self._create(name, sql.text(name), paths=self.files.atlas, kind="atlas")
                self._check(
                    "SELECT f.source_file FROM atlas_messages AS m JOIN atlas_raw_files AS f "
                    "ON f.file_id = m.file_id WHERE m.atype IS NULL OR m.ts IS NULL LIMIT 1",
                    paths=self.files.atlas,
                    kind="atlas",
                    problem="an audit message without atype or ts",
                )
                continue
            # The ledger and each finding kind are read once: views, not tables.
            kind = "VIEW" if name == "ledger" or name.startswith("finding_") else "TABLE"
            self.db.execute(f"CREATE TEMP {kind} {name} AS {sql.text(name)}")

    def write(self, out: Path) -> Outcome:
        """ledger.jsonl and findings.jsonl into `out`; the counts and report rows back.

        The ledger is written in the order the logs were read, not sorted: sorting a million
        rows costs more than reading them (bench/audit_trail.py); findings are sorted by time.
        """
        ts = f"strftime(ts, {_quote(TIMESTAMP_FORMAT)})"
        self.db.execute(
            f'COPY (SELECT {ts} AS ts, project, cluster, "user", db, ns, command, result, '
            'pipeline, "authMode", runs FROM ledger) '
            f"TO {_quote(str(out / 'ledger.jsonl'))} (FORMAT JSON)"
        )
        self.db.execute(
            f'COPY (SELECT kind, {ts} AS ts, "user", ns, detail FROM findings '
            'ORDER BY findings.ts NULLS LAST, kind, "user", ns, detail) '
            f"TO {_quote(str(out / 'findings.jsonl'))} (FORMAT JSON)"
        )
        rows = self.db.execute(
            "SELECT sum(messages), sum(messages) - sum(unattributed) FROM access_counts"
        ).fetchone()
        kinds = self.db.execute("SELECT kind, count(*) FROM findings GROUP BY kind").fetchall()
        report = {name: self.db.execute(f"SELECT * FROM {name}").fetchall() for name in sql.REPORT}
        report["findings"] = self.db.execute(
            f'SELECT kind, {ts}, "user", ns, detail FROM findings '
            "ORDER BY findings.ts NULLS LAST, kind LIMIT 2000"
        ).fetchall()
        unit = self.db.execute("SELECT timeline_unit FROM audit_settings").fetchone()
        return Outcome(
            timeline_unit=str(unit[0]) if unit else "hour",
            ledger_rows=int(rows[0] or 0) if rows else 0,
            attributed_rows=int(rows[1] or 0) if rows else 0,
            findings={str(k): int(n) for k, n in kinds},
            report=report,
        )

    def close(self) -> None:
        self.db.close()


def run(*, model: StackModel, files: InputFiles, settings: Settings, out: Path) -> Outcome:
    """Load, evaluate and write; InputError names the unreadable input."""
    evidence = Evidence(model=model, files=files, settings=settings)
    try:
        evidence.load_inputs()
        evidence.load_model()
        evidence.evaluate()
        return evidence.write(out)
    finally:
        evidence.close()
