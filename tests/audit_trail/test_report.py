"""report.html as a browser renders it: headless Chromium (Debian's package) loads the page and
dumps the DOM it built; the tables, the chart and the findings must say what the ledger and the
findings files say. Fails (never skips) when Chromium is missing: `bash scripts/install-chromium`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.audit_trail.conftest import ALLOW_AGENT, RUN_SPACING, START, clean_day, run_command

CHROMIUM_TIMEOUT = 120


class Tables(HTMLParser):
    """Rows of every table (by the id of the heading before it), rects of every svg."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.section = ""
        self.rects = 0
        self.texts: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self.section = dict(attrs).get("id") or ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "rect":
            self.rects += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables.setdefault(self.section, []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        self.texts.append(data)


def chromium() -> str:
    """$CHROMIUM, else `chromium` (Debian's package) or `chromium-browser` on PATH."""
    binary = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if binary is None:
        pytest.fail("Chromium is not installed: run `bash scripts/install-chromium`")
    return binary


def rendered_dom(page: Path, profile: Path) -> str:
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_report_renders_what_the_ledger_and_findings_say(
    dev_plan: dict[str, Any], tmp_path: Path
) -> None:
    day = clean_day(dev_plan)
    day.agent_heartbeats(start=START + 2 * RUN_SPACING, end=START + 3 * RUN_SPACING)
    day.task_run(
        "customer-sync",
        at=START + 2 * RUN_SPACING,
        run_id="manual__outside",
        namespaces=[("find", "finance.ledger"), ("createIndexes", "crm.customers")],
    )
    result = run_command(day.write(tmp_path / "logs"), tmp_path / "out", extra=ALLOW_AGENT)
    page = result.out / "report.html"
    html = page.read_text()
    # Self-contained: nothing is fetched (no src, href, @import or url()).
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", html)

    dom = rendered_dom(page, tmp_path / "chromium-profile")
    parsed = Tables()
    parsed.feed(dom)
    ledger, findings = result.ledger, result.findings

    per_pipeline = Counter(row["pipeline"] for row in ledger)
    rows = {r[0]: r for r in parsed.tables["pipelines"][1:]}
    planned = {r["pipeline"] for r in dev_plan["outputs"]["accessMatrix"]}
    assert set(rows) == planned | {"(users that are no pipeline)"}
    for name in planned:
        assert int(rows[name][2]) == per_pipeline[name], rows[name]
    assert int(rows["(users that are no pipeline)"][2]) == per_pipeline[None]

    per_namespace = Counter(row["ns"] for row in ledger if row["ns"])
    collections = {r[0]: int(r[1]) for r in parsed.tables["collections"][1:]}
    assert collections == dict(per_namespace)

    shown = [tuple(r[:4]) for r in parsed.tables["findings"][1:]]
    assert sorted(shown) == sorted(
        (f["kind"], f["ts"] or "", f["user"] or "", f["ns"] or "") for f in findings
    )
    assert {f["kind"] for f in findings} == {"outside-grant", "ddl"}
    assert parsed.rects > 1
    summary = next(t for t in parsed.texts if "Atlas audit messages" in t)
    assert summary.startswith(f"{len(ledger)} Atlas audit messages")
