"""One SQL source for both engines: the DuckDB text runs in every other test of this suite;
its Athena form (sqlglot's transpilation) must parse as Athena and Trino SQL and call only the
functions Trino's documentation lists (trino_functions.txt)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import TokenType

from audit_trail import sql

TRINO_FUNCTIONS = frozenset(
    line.strip()
    for line in (Path(__file__).parent / "trino_functions.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


def called_functions(text: str) -> set[str]:
    """Every name called as a function in `text` (an identifier followed by "(")."""
    tokens = sqlglot.tokenize(text, read="athena")
    return {
        token.text.lower()
        for before, token, following in zip(tokens, tokens[1:], tokens[2:], strict=False)
        if following.token_type is TokenType.L_PAREN
        and token.token_type is TokenType.VAR
        and before.token_type is not TokenType.ALIAS  # `AS u (column)`: an alias
    }


@pytest.mark.parametrize("name", sql.RELATIONS)
def test_the_athena_form_parses_and_calls_only_trino_functions(name: str) -> None:
    athena = sql.athena_form(name)
    for dialect in ("athena", "trino"):
        assert sqlglot.parse_one(athena, read=dialect) is not None
    unknown = called_functions(athena) - TRINO_FUNCTIONS
    assert not unknown, f"{name}: not Trino functions: {sorted(unknown)}\n{athena}"


def test_the_function_check_catches_duckdb_only_functions() -> None:
    """The check is not vacuous: DuckDB spellings that sqlglot passes through are caught."""
    duckdb_only = "SELECT try_strptime(s, '%Y'), list_sort(l), json_extract_string(j, '$.a') FROM t"
    athena = sqlglot.transpile(duckdb_only, read="duckdb", write="athena")[0]
    assert called_functions(athena) - TRINO_FUNCTIONS >= {"try_strptime"}


def test_subscripts_become_element_at_in_the_athena_form() -> None:
    """Trino's subscript fails beyond the array; the evidence expects NULL (element_at)."""
    athena = sql.athena_form("sts_sessions")
    assert "ELEMENT_AT(MAP_FROM_ENTRIES(tags), 'dag_id')" in athena
    tokens = sqlglot.tokenize(athena, read="athena")
    assert TokenType.L_BRACKET not in {t.token_type for t in tokens}


def test_every_relation_has_its_text_and_views_name_it() -> None:
    for name in sql.RELATIONS:
        assert sql.text(name).strip()
        assert sql.athena_view(name).startswith(f"CREATE OR REPLACE VIEW {name} AS\n")
    with pytest.raises(KeyError):
        sql.text("no_such_relation")
