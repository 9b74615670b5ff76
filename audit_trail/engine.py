"""Run the evidence SQL on an embedded DuckDB and write the ledger and the findings.

DuckDB reads the logs where they are (`read_json`, gzip or plain), with the column types of the
input relations (audit_trail/sql/README.md); everything after that is the evidence SQL, in
`audit_trail.sql.RELATIONS` order. Only the readers and the JSON writers here are DuckDB's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from audit_trail import sql
from audit_trail.inputs import InputError, InputFiles, split_by_compression
from audit_trail.model import StackModel
from audit_trail.validate import locate

# Column types of the raw inputs. Fields not listed are not read; a listed field that is
# absent reads as NULL.
ATLAS_COLUMNS: Mapping[str, str] = {
    "atype": "VARCHAR",
    "ts": 'STRUCT("$date" VARCHAR)',
    "uuid": 'STRUCT("$binary" VARCHAR, "$type" VARCHAR)',
    "users": 'STRUCT("user" VARCHAR, db VARCHAR)[]',
    "roles": "STRUCT(role VARCHAR, db VARCHAR)[]",
    "param": (
        'STRUCT(command VARCHAR, ns VARCHAR, "user" VARCHAR, db VARCHAR, mechanism VARCHAR, '
        'old VARCHAR, "new" VARCHAR)'
    ),
    "result": "INTEGER",
}
CLOUDTRAIL_RECORD = (
    "STRUCT(eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR, awsRegion VARCHAR, "
    "recipientAccountId VARCHAR, errorCode VARCHAR, eventID VARCHAR, userIdentity JSON, "
    "requestParameters JSON, responseElements JSON)"
)
DIGEST_COLUMNS: Mapping[str, str] = {
    "digestStartTime": "VARCHAR",
    "digestEndTime": "VARCHAR",
    "digestS3Object": "VARCHAR",
    "previousDigestS3Object": "VARCHAR",
    "awsAccountId": "VARCHAR",
    "logFiles": "STRUCT(s3Object VARCHAR)[]",
}
VAULT_COLUMNS: Mapping[str, str] = {
    "time": "VARCHAR",
    "type": "VARCHAR",
    "auth": "JSON",
    "request": "JSON",
    "response": "JSON",
}
# One CloudTrail log file is one JSON document; DuckDB's default cap is 16 MiB per document and
# the reader's buffer is twice the cap, which counts against the memory limit.
MAX_DOCUMENT_BYTES = 64 << 20
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


def _file_list(paths: Iterable[Path]) -> str:
    return "[" + ", ".join(_quote(str(p)) for p in paths) + "]"


def _columns(columns: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in columns.items()) + "}"


def _read_json(paths: Sequence[Path], columns: Mapping[str, str], fmt: str) -> list[str]:
    """`read_json` calls over `paths` (one per compression), each adding `source_file`."""
    calls = []
    for group, compression in zip(split_by_compression(paths), ("gzip", "none"), strict=True):
        if group:
            calls.append(
                f"SELECT *, filename AS source_file FROM read_json({_file_list(group)}, "
                f"format = {_quote(fmt)}, compression = {_quote(compression)}, "
                f"columns = {_columns(columns)}, filename = true, "
                f"maximum_object_size = {MAX_DOCUMENT_BYTES})"
            )
    return calls


def _empty(columns: Mapping[str, str]) -> str:
    names = ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in columns.items())
    return f"SELECT {names}, CAST(NULL AS VARCHAR) AS source_file WHERE false"


def _union(calls: Sequence[str], columns: Mapping[str, str]) -> str:
    return " UNION ALL ".join(calls) if calls else _empty(columns)


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
        raw_atlas = _union(_read_json(f.atlas, ATLAS_COLUMNS, "newline_delimited"), ATLAS_COLUMNS)
        self._create("atlas_raw", raw_atlas, paths=f.atlas, kind="atlas")
        self._check(
            'SELECT source_file FROM atlas_raw WHERE atype IS NULL OR ts."$date" IS NULL LIMIT 1',
            paths=f.atlas,
            kind="atlas",
            problem="an audit message without atype or ts",
        )
        records = {"Records": f"{CLOUDTRAIL_RECORD}[]"}
        trail = _union(_read_json(f.cloudtrail_logs, records, "unstructured"), records)
        self._create("cloudtrail_raw", trail, paths=f.cloudtrail_logs, kind="cloudtrail")
        self._check(
            "SELECT source_file FROM cloudtrail_raw WHERE Records IS NULL LIMIT 1",
            paths=f.cloudtrail_logs,
            kind="cloudtrail",
            problem='not a CloudTrail log file: no {"Records": [...]}',
        )
        self.db.execute(
            "CREATE TEMP TABLE cloudtrail_records AS SELECT r.*, source_file "
            "FROM (SELECT unnest(Records) AS r, source_file FROM cloudtrail_raw)"
        )
        self.db.execute(
            "CREATE TEMP TABLE cloudtrail_files AS SELECT DISTINCT source_file FROM cloudtrail_raw"
        )
        digests = _union(
            _read_json(f.cloudtrail_digests, DIGEST_COLUMNS, "unstructured"), DIGEST_COLUMNS
        )
        self._create("cloudtrail_digests", digests, paths=f.cloudtrail_digests, kind="digest")
        self._check(
            "SELECT source_file FROM cloudtrail_digests "
            "WHERE digestStartTime IS NULL OR digestEndTime IS NULL LIMIT 1",
            paths=f.cloudtrail_digests,
            kind="digest",
            problem="not a CloudTrail digest file",
        )
        vault = _union(_read_json(f.vault, VAULT_COLUMNS, "newline_delimited"), VAULT_COLUMNS)
        self._create("vault_records", vault, paths=f.vault, kind="vault")
        self._check(
            "SELECT source_file FROM vault_records WHERE type IS NULL OR time IS NULL LIMIT 1",
            paths=f.vault,
            kind="vault",
            problem="a Vault audit entry without type or time",
        )

    def load_model(self) -> None:
        m, s = self.model, self.settings
        self.db.execute(
            "CREATE TEMP TABLE model_pipelines (pipeline VARCHAR, auth_mode VARCHAR, "
            "role_arn VARCHAR, atlas_user VARCHAR, atlas_db VARCHAR, custom_role VARCHAR, "
            "project_id VARCHAR, cluster VARCHAR, vault_creds_path VARCHAR, "
            "credential_seconds BIGINT, connection_id VARCHAR)"
        )
        self.db.executemany(
            "INSERT INTO model_pipelines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        self.db.execute(
            "CREATE TEMP TABLE model_grants "
            "(pipeline VARCHAR, database_name VARCHAR, collection_name VARCHAR)"
        )
        if m.grants:
            self.db.executemany(
                "INSERT INTO model_grants VALUES (?, ?, ?)",
                [(g.pipeline, g.database, g.collection) for g in m.grants],
            )
        self.db.execute("CREATE TEMP TABLE model_allowed_users (user_name VARCHAR)")
        if s.allowed_users:
            self.db.executemany(
                "INSERT INTO model_allowed_users VALUES (?)", [(u,) for u in s.allowed_users]
            )

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
            kind = "VIEW" if name.startswith("finding_") else "TABLE"
            self.db.execute(f"CREATE TEMP {kind} {name} AS {sql.text(name)}")

    def write(self, out: Path) -> Outcome:
        """ledger.jsonl and findings.jsonl into `out`; the counts and report rows back."""
        ts = f"strftime(ts, {_quote(TIMESTAMP_FORMAT)})"
        self.db.execute(
            f'COPY (SELECT {ts} AS ts, project, cluster, "user", db, ns, command, result, '
            'pipeline, "authMode", runs FROM ledger ORDER BY ledger.ts, "user", ns) '
            f"TO {_quote(str(out / 'ledger.jsonl'))} (FORMAT JSON)"
        )
        self.db.execute(
            f'COPY (SELECT kind, {ts} AS ts, "user", ns, detail FROM findings '
            'ORDER BY findings.ts NULLS LAST, kind, "user", ns, detail) '
            f"TO {_quote(str(out / 'findings.jsonl'))} (FORMAT JSON)"
        )
        rows = self.db.execute(
            "SELECT count(*), count(*) FILTER (WHERE array_length(runs) > 0) FROM ledger"
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
            ledger_rows=int(rows[0]) if rows else 0,
            attributed_rows=int(rows[1]) if rows else 0,
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
