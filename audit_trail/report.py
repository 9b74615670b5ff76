"""report.html: one self-contained page (no script, no network) an assessor can open anywhere.

Accesses per pipeline and per collection, a timeline of accesses (inline SVG), and the
findings. Every value is HTML-escaped; the numbers come from the report relations
(audit_trail/sql/report_*.sql) and the findings, nothing is recomputed here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

from audit_trail.engine import Outcome
from audit_trail.model import StackModel

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 960, 240, 40
MAX_BARS = 96
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1d1d1f; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.kind { font-weight: 600; white-space: nowrap; } .none { color: #2a7d2a; font-weight: 600; }
.bar { fill: #3b6ea8; } .axis { stroke: #888; } .label { font-size: 11px; fill: #444; }
"""


def _cell(value: Any, *, numeric: bool = False) -> str:
    text = "" if value is None else str(value)
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(_cell(v, numeric=i in numeric) for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _stamp(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else ""


def pipelines_section(rows: Sequence[tuple[Any, ...]]) -> str:
    ordered = sorted(rows, key=lambda r: (r[0] is None, r[0] or ""))
    table_rows = [
        (
            r[0] if r[0] is not None else "(users that are no pipeline)",
            r[1] or "",
            r[2],
            r[3],
            r[4],
            r[5],
            _stamp(r[6]),
            _stamp(r[7]),
        )
        for r in ordered
    ]
    headers = (
        "pipeline",
        "auth mode",
        "accesses",
        "namespaces",
        "DAG runs",
        "without a run",
        "first",
        "last",
    )
    return '<h2 id="pipelines">Accesses per pipeline</h2>' + _table(
        headers, table_rows, {2, 3, 4, 5}
    )


def collections_section(rows: Sequence[tuple[Any, ...]]) -> str:
    ordered = sorted(rows, key=lambda r: (-int(r[1]), str(r[0])))
    return '<h2 id="collections">Accesses per collection</h2>' + _table(
        ("namespace", "accesses", "by users that are no pipeline", "pipelines"),
        [(r[0], r[1], r[2], r[3]) for r in ordered],
        {1, 2},
    )


UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def _buckets(rows: Sequence[tuple[Any, ...]], unit: str) -> list[tuple[datetime, int]]:
    """Accesses per bar on a linear time axis (empty buckets included), at most MAX_BARS."""
    totals: dict[datetime, int] = defaultdict(int)
    for bucket, _pipeline, count in rows:
        if isinstance(bucket, datetime):
            totals[bucket] += int(count)
    if not totals:
        return []
    step = UNITS[unit]
    first, last = min(totals), max(totals)
    buckets = int((last - first) / step) + 1
    per_bar = -(-buckets // MAX_BARS)
    bars = [(first + step * per_bar * i, 0) for i in range(-(-buckets // per_bar))]
    counts = [0] * len(bars)
    for bucket, count in totals.items():
        counts[int((bucket - first) / step) // per_bar] += count
    return [(start, counts[i]) for i, (start, _) in enumerate(bars)]


def timeline_svg(rows: Sequence[tuple[Any, ...]], unit: str) -> str:
    bars = _buckets(rows, unit)
    if not bars:
        return "<p>No access recorded.</p>"
    top = max(n for _, n in bars) or 1
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD
    width = inner_w / len(bars)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" '
        f'height="{CHART_HEIGHT}" role="img" aria-label="Accesses over time">',
        f'<line class="axis" x1="{CHART_PAD}" y1="{CHART_PAD + inner_h}" '
        f'x2="{CHART_PAD + inner_w}" y2="{CHART_PAD + inner_h}"/>',
        f'<text class="label" x="{CHART_PAD}" y="{CHART_PAD - 8}">max {top} per bar</text>',
    ]
    for index, (start, count) in enumerate(bars):
        height = inner_h * count / top
        x = CHART_PAD + index * width
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{CHART_PAD + inner_h - height:.1f}" '
            f'width="{max(width - 1, 1):.1f}" height="{height:.1f}">'
            f"<title>{escape(_stamp(start))}: {count} accesses</title></rect>"
        )
    for index in (0, len(bars) - 1):
        anchor = "start" if index == 0 else "end"
        x = CHART_PAD + (index + (1 if index else 0)) * width
        parts.append(
            f'<text class="label" x="{x:.1f}" y="{CHART_HEIGHT - 12}" text-anchor="{anchor}">'
            f"{escape(_stamp(bars[index][0]))} UTC</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def findings_section(rows: Sequence[tuple[Any, ...]], total: int) -> str:
    if total == 0:
        return '<h2 id="findings">Findings</h2><p class="none">No findings.</p>'
    shown = (
        f"<p>{total} findings; the first {len(rows)} are listed (findings.jsonl has all).</p>"
        if total > len(rows)
        else f"<p>{total} findings.</p>"
    )
    body = "".join(
        f'<tr><td class="kind">{escape(str(r[0]))}</td>{_cell(r[1])}{_cell(r[2])}'
        f"{_cell(r[3])}{_cell(r[4])}</tr>"
        for r in rows
    )
    head = "".join(f"<th>{h}</th>" for h in ("kind", "time (UTC)", "user", "namespace", "detail"))
    return (
        f'<h2 id="findings">Findings</h2>{shown}'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def render(*, model: StackModel, outcome: Outcome) -> str:
    r = outcome.report
    total = sum(outcome.findings.values())
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(outcome.findings.items())) or "none"
    title = f"Atlas access evidence: {model.project}/{model.stack}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p id="summary">{outcome.ledger_rows} Atlas audit messages, '
        f"{outcome.attributed_rows} attributed to a DAG run; findings: {escape(kinds)}.</p>"
        + pipelines_section(r["report_pipelines"])
        + collections_section(r["report_collections"])
        + '<h2 id="timeline">Accesses over time</h2>'
        + timeline_svg(r["report_timeline"], outcome.timeline_unit)
        + findings_section(r["findings"], total)
        + "</body></html>\n"
    )


def write(path: Path, *, model: StackModel, outcome: Outcome) -> None:
    path.write_text(render(model=model, outcome=outcome), encoding="utf-8")
