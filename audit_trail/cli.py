"""`python -m audit_trail`: which DAG run touched which collection, and what should not have.

    python -m audit_trail --stack prod --atlas-logs DIR --cloudtrail DIR \\
        [--vault-audit FILE ...] --out DIR [--plan PLAN.json]
    python -m audit_trail --stack prod --from-s3 --atlas-logs s3://BUCKET/PREFIX \\
        --cloudtrail s3://BUCKET/PREFIX [--vault-audit s3://BUCKET/KEY] --out DIR

Writes `ledger.jsonl`, `findings.jsonl` and `report.html` into `--out` (docs/auditing.md).
Exit codes: 0 no findings, 1 findings, 2 unreadable input or bad usage (one line naming the
file, and the line when there is one).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from audit_trail import engine, report, s3
from audit_trail.inputs import InputError, discover
from audit_trail.model import PlanError, load

EXIT_CLEAN, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


@dataclass(frozen=True, kw_only=True)
class Arguments:
    stack: str
    atlas_logs: str
    cloudtrail: str
    vault_audit: tuple[str, ...]
    out: Path
    plan: Path
    from_s3: bool
    settings: engine.Settings


def parse(argv: Sequence[str]) -> Arguments:
    parser = argparse.ArgumentParser(
        prog="python -m audit_trail",
        description="Evidence of every Atlas data access: ledger, findings and report.",
    )
    parser.add_argument("--stack", required=True, help="the stack whose accesses these are")
    parser.add_argument("--atlas-logs", required=True, help="Atlas audit logs (dir or s3://)")
    parser.add_argument("--cloudtrail", required=True, help="CloudTrail logs (dir or s3://)")
    parser.add_argument(
        "--vault-audit", action="append", default=[], help="a Vault file audit log (repeatable)"
    )
    parser.add_argument("--out", required=True, type=Path, help="directory for the outputs")
    parser.add_argument(
        "--plan", type=Path, help="the stack's plan JSON (default snapshots/<stack>.plan.json)"
    )
    parser.add_argument(
        "--from-s3", action="store_true", help="the inputs are s3:// prefixes, read with boto3"
    )
    parser.add_argument(
        "--allow-user",
        action="append",
        default=[],
        help="a database user the stack does not create but you vouch for (repeatable)",
    )
    parser.add_argument(
        "--max-gap-minutes",
        type=int,
        default=15,
        help="a longer hole in a host's Atlas audit log is a gap (default 15)",
    )
    parser.add_argument(
        "--clock-skew-seconds",
        type=int,
        default=5,
        help="tolerance between Atlas, AWS and Vault clocks (default 5)",
    )
    parser.add_argument("--memory-limit", default="700MB", help="DuckDB memory limit")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2)")
    a = parser.parse_args(argv)
    return Arguments(
        stack=a.stack,
        atlas_logs=a.atlas_logs,
        cloudtrail=a.cloudtrail,
        vault_audit=tuple(a.vault_audit),
        out=a.out,
        plan=a.plan or Path("snapshots") / f"{a.stack}.plan.json",
        from_s3=a.from_s3,
        settings=engine.Settings(
            max_gap_seconds=a.max_gap_minutes * 60,
            clock_skew_seconds=a.clock_skew_seconds,
            allowed_users=tuple(a.allow_user),
            threads=a.threads,
            memory_limit=a.memory_limit,
            temp_directory=a.out / ".duckdb-tmp",
        ),
    )


@dataclass(frozen=True, kw_only=True)
class LocalInputs:
    atlas: Path
    cloudtrail: Path
    vault: list[Path]
    origins: dict[str, str]
    """Local directory of downloaded objects -> `s3://bucket/`, to name them in errors."""

    def named(self, message: str) -> str:
        for local, remote in self.origins.items():
            message = message.replace(local + "/", remote)
        return message


def _local_inputs(args: Arguments, staging: Path) -> LocalInputs:
    """The inputs as local paths: themselves, or their S3 objects downloaded to `staging`."""
    given = [args.atlas_logs, args.cloudtrail, *args.vault_audit]
    remote = [s3.is_s3_uri(g) for g in given]
    if args.from_s3 and not all(remote):
        raise InputError("--from-s3: every input must be an s3://bucket/prefix URI")
    if not args.from_s3 and any(remote):
        raise InputError("an input is an s3:// URI: pass --from-s3 to read it from S3")
    if not args.from_s3:
        return LocalInputs(
            atlas=Path(args.atlas_logs),
            cloudtrail=Path(args.cloudtrail),
            vault=[Path(v) for v in args.vault_audit],
            origins={},
        )
    client = s3.client()
    origins: dict[str, str] = {}

    def fetch(uri: str, name: str) -> Path:
        destination = staging / name
        origins[str(destination)] = f"s3://{s3.parse_uri(uri).bucket}/"
        return s3.download(client, uri, destination)

    return LocalInputs(
        atlas=fetch(args.atlas_logs, "atlas"),
        cloudtrail=fetch(args.cloudtrail, "cloudtrail"),
        vault=[
            s3.single_file(fetch(uri, f"vault-{i}"), uri) for i, uri in enumerate(args.vault_audit)
        ],
        origins=origins,
    )


def _summary(outcome: engine.Outcome, out: Path) -> str:
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(outcome.findings.items())) or "none"
    return (
        f"ledger: {outcome.ledger_rows} Atlas messages, {outcome.attributed_rows} attributed to "
        f"DAG runs -> {out / 'ledger.jsonl'}\n"
        f"findings: {sum(outcome.findings.values())} ({kinds}) -> {out / 'findings.jsonl'}\n"
        f"report -> {out / 'report.html'}"
    )


def run(args: Arguments) -> int:
    model = load(args.plan, stack=args.stack)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="audit-trail-s3-") as staging:
        local = _local_inputs(args, Path(staging))
        try:
            files = discover(
                atlas_logs=local.atlas, cloudtrail=local.cloudtrail, vault_audit=local.vault
            )
            outcome = engine.run(model=model, files=files, settings=args.settings, out=args.out)
        except InputError as error:
            raise InputError(local.named(str(error))) from None
    report.write(args.out / "report.html", model=model, outcome=outcome)
    print(_summary(outcome, args.out))
    return EXIT_FINDINGS if outcome.findings else EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except (InputError, PlanError, s3.S3Error) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
