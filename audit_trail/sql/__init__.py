"""The evidence SQL: one text per relation, run by DuckDB here and by Athena in the cloud.

Each `<name>.sql` in this package is one `SELECT` over the input relations (README.md in this
directory lists them and their columns) and the relations before it in `RELATIONS`. The text
is DuckDB SQL; `athena_form(name)` gives the Trino (Athena engine v3) text, transpiled by
sqlglot, which a named query or a view in Athena can hold.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import sqlglot
from sqlglot import exp

# Staging relations over the raw inputs, then attribution, then the outputs, in dependency
# order: each relation reads only inputs and relations listed before it.
STAGING: tuple[str, ...] = (
    "atlas_messages",
    "atlas_files",
    "atlas_connections",
    "atlas_auth_events",
    "sts_sessions",
    "kms_signs",
    "vault_creds",
    "vault_logins",
)
ATTRIBUTION: tuple[str, ...] = (
    "connection_pipelines",
    "auth_runs",
    "connection_runs",
)
FINDINGS: tuple[str, ...] = (
    "finding_unknown_user",
    "finding_denied",
    "finding_ddl",
    "finding_outside_grant",
    "finding_no_session",
    "finding_gap",
)
OUTPUTS: tuple[str, ...] = ("ledger", *FINDINGS, "findings")
REPORT: tuple[str, ...] = (
    "access_counts",
    "report_pipelines",
    "report_collections",
    "report_timeline",
)
RELATIONS: tuple[str, ...] = (*STAGING, *ATTRIBUTION, *OUTPUTS, *REPORT)

DUCKDB_MACROS = "duckdb_macros"


@cache
def text(name: str) -> str:
    """The DuckDB text of relation `name` (or of `duckdb_macros`)."""
    if name not in RELATIONS and name != DUCKDB_MACROS:
        raise KeyError(f"no evidence relation named {name!r}")
    return resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def _element_at(node: exp.Expression) -> exp.Expression:
    """`array[i]` as `element_at(array, i)`.

    Trino, "Array functions and operators": the subscript operator fails when the index is
    beyond the array, `element_at` returns NULL; DuckDB's subscript returns NULL, as the
    evidence SQL expects (an absent session tag, an empty `users` array).
    """
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        return exp.Anonymous(this="ELEMENT_AT", expressions=[node.this, node.expressions[0]])
    return node


def athena_form(name: str, *, pretty: bool = True) -> str:
    """The Trino text of relation `name`, for an Athena named query or view."""
    tree = sqlglot.parse_one(text(name), read="duckdb")
    return tree.transform(_element_at).sql(dialect="athena", pretty=pretty)


def athena_view(name: str) -> str:
    """`CREATE OR REPLACE VIEW <name> AS <Trino text>`: the relation as an Athena view."""
    return f"CREATE OR REPLACE VIEW {name} AS\n{athena_form(name)}"
