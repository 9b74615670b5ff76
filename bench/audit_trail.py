"""Benchmark of `python -m audit_trail` against DuckDB's own bare scan of the same files.

    python -m bench.audit_trail [--messages 1000000] [--rounds 3] [--workdir DIR]

Plans the benchmark estate (bench/synthetic.py: 1,000 pipelines of all three auth modes over 12
Atlas projects, 24 clusters) with the program, then generates a day of its logs in their
documented formats and layouts (bench/audit_samples.py): `--messages` Atlas audit
messages from two task runs of every pipeline, each run with its STS session (and KMS
signature, or Vault login and lease), CloudTrail log files with hourly digests, and a Vault
file audit log. Then, in
interleaved rounds, each as its own process timed from start to exit with its peak RSS
(`wait4`):

- the command: `python -m audit_trail --stack dev ...` (ledger, findings, report);
- the bare scan: `SELECT count(*) FROM read_json(<the Atlas files>)` in DuckDB, same threads.

Targets: the command under 20 s and 1 GB, and within 2x the bare scan (median of rounds).
The machine's load (`uptime`) is printed before and after: compare ratios of one run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import synthetic
from bench.audit_samples import (
    AGENT_USER,
    AUDIT_LOG_TYPE,
    EXPORT_INTERVAL,
    Day,
    auth_check,
    authenticate,
    write_trail,
)

ROOT = Path(__file__).resolve().parent.parent
DAY_START = datetime(2026, 12, 1, tzinfo=UTC)
ESTATE_PIPELINES = 1000
RUNS_PER_PIPELINE = 2
HEARTBEATS_PER_HOST = 24 * 60 // 4
TARGET_SECONDS, TARGET_RSS_MB, TARGET_RATIO = 20.0, 1024.0, 2.0


@dataclass(frozen=True, kw_only=True)
class Measured:
    wall: float
    rss_mb: float
    code: int


class AtlasWriter:
    """Gzip JSON lines per host and 5-minute export window, each file written once."""

    def __init__(self) -> None:
        self.pending: dict[tuple[Path, datetime], list[str]] = defaultdict(list)
        self.files = 0

    def add(self, host_dir: Path, at: datetime, message: dict[str, Any]) -> None:
        window = DAY_START + EXPORT_INTERVAL * ((at - DAY_START) // EXPORT_INTERVAL)
        self.pending[(host_dir, window)].append(json.dumps(message) + "\n")

    def flush(self, before: datetime | None = None) -> None:
        """Write the windows that end before `before` (all when None)."""
        for key in sorted(self.pending):
            host_dir, window = key
            if before is not None and window + EXPORT_INTERVAL > before:
                continue
            path = (
                host_dir
                / AUDIT_LOG_TYPE
                / f"{window:%Y-%m-%d}"
                / f"{int(window.timestamp())}-{AUDIT_LOG_TYPE}.log.gz"
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path, "wt", encoding="utf-8") as handle:
                handle.writelines(self.pending.pop(key))
            self.files += 1


def run_starts(runs: int) -> Iterator[datetime]:
    """Evenly over the day, in time order."""
    step = timedelta(days=1) / runs
    for index in range(runs):
        yield DAY_START + step * index


def plan_estate(workdir: Path) -> Path:
    """The offline plan of the benchmark estate (bench/synthetic.py), made by the program."""
    path = workdir / "estate.plan.json"
    if not path.exists():
        stack_file = synthetic.write_stack_file(ESTATE_PIPELINES, workdir)
        subprocess.run(  # noqa: S603 (our own interpreter and module)
            [
                sys.executable,
                "-m",
                "infra.plan",
                "--config-file",
                str(stack_file),
                "--json",
                str(path),
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return path


def agent_heartbeats(
    day: Day, atlas: AtlasWriter, agent_at: dict[Path, datetime], until: datetime
) -> int:
    """The operators' agent's authentications on every host up to `until`; how many."""
    count = 0
    for host_dir in agent_at:
        while agent_at[host_dir] <= until:
            at = agent_at[host_dir]
            atlas.add(
                host_dir,
                at,
                authenticate(
                    at=at,
                    user=AGENT_USER,
                    db="admin",
                    mechanism="SCRAM-SHA-256",
                    connection=day.connection(),
                ),
            )
            agent_at[host_dir] += timedelta(minutes=4)
            count += 1
    return count


def one_run(
    day: Day, atlas: AtlasWriter, workdir: Path, *, name: str, at: datetime, messages: int
) -> None:
    """A task run's session (and signature or lease), then one connection reading its
    grants every 50 ms: `messages` Atlas messages."""
    p = day.pipelines[name]
    run = day.task_run(name, at=at, run_id=f"scheduled__{at:%Y-%m-%dT%H:%M:%S}", namespaces=[])
    host_dir = host_dir_of(day, workdir, p.project_id, p.cluster)
    auth_at = at + timedelta(seconds=2)
    connection = day.connection()
    db, mechanism = _auth_db(p.auth_mode), _mechanism(p.auth_mode)
    atlas.add(
        host_dir,
        auth_at,
        authenticate(at=auth_at, user=run.user, db=db, mechanism=mechanism, connection=connection),
    )
    granted = day.granted(p)
    for k in range(messages - 1):
        when = auth_at + timedelta(milliseconds=50 * (k + 1))
        command, ns = granted[k % len(granted)]
        atlas.add(
            host_dir,
            when,
            auth_check(
                at=when,
                user=run.user,
                db=db,
                role=p.custom_role,
                command=command,
                ns=ns,
                connection=connection,
            ),
        )
    day.messages.clear()  # the run's own connection (no command) is not written


def generate(workdir: Path, plan: dict[str, Any], messages: int) -> dict[str, Path]:
    """A day of the estate's logs under `workdir`: atlas/, cloudtrail/, vault-audit.log.

    Every pipeline runs `RUNS_PER_PIPELINE` times, 12 hours apart, one run every few seconds
    over the day; each run authenticates once and then reads its grants every 50 ms. An
    operators' agent authenticates on every host every 4 minutes, as on a live cluster.
    """
    day = Day(plan=plan)
    names = sorted(day.pipelines)
    runs = len(names) * RUNS_PER_PIPELINE
    hosts = hosts_of(day, workdir)
    per_run = (messages - len(hosts) * HEARTBEATS_PER_HOST) // runs
    atlas = AtlasWriter()
    agent_at = dict.fromkeys(hosts, DAY_START)
    heartbeats = 0
    for index, at in enumerate(run_starts(runs)):
        heartbeats += agent_heartbeats(day, atlas, agent_at, at)
        # Run i and run i + len(names) of one pipeline are 12 hours apart.
        one_run(day, atlas, workdir, name=names[index % len(names)], at=at, messages=per_run)
        atlas.flush(before=at - timedelta(minutes=10))
    atlas.flush()
    write_trail(workdir / "cloudtrail", day.records, account=day.account)
    vault = workdir / "vault-audit.log"
    vault.write_text(
        "".join(json.dumps(e) + "\n" for _, e in sorted(day.vault, key=lambda x: x[0]))
    )
    print(
        f"generated {runs * per_run + heartbeats} Atlas messages in {atlas.files} files on "
        f"{len(hosts)} hosts: {runs} task runs of {len(names)} pipelines, {heartbeats} agent "
        f"authentications; {len(day.records)} CloudTrail records, {len(day.vault)} Vault "
        "entries"
    )
    return {"atlas": workdir / "atlas", "cloudtrail": workdir / "cloudtrail", "vault": vault}


def hosts_of(day: Day, workdir: Path) -> dict[Path, str]:
    """Host directory -> cluster, for every cluster the estate's pipelines use."""
    return {
        host_dir_of(day, workdir, p.project_id, p.cluster): p.cluster
        for p in day.pipelines.values()
    }


def host_dir_of(day: Day, workdir: Path, project_id: str, cluster: str) -> Path:
    return workdir / "atlas" / "atlas-audit" / project_id / cluster / day.host(cluster)


def _auth_db(mode: str) -> str:
    return "admin" if mode == "vault-dynamic" else "$external"


def _mechanism(mode: str) -> str:
    return {"aws-iam": "MONGODB-AWS", "okta-oidc": "MONGODB-OIDC"}.get(mode, "SCRAM-SHA-256")


def measure(argv: Sequence[str]) -> Measured:
    """Wall time and peak RSS of one process, from start to exit."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and modules)
        list(argv), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.stderr is not None:
        error = process.stderr.read().decode()
        process.stderr.close()
        if process.returncode not in (0, 1):
            raise RuntimeError(f"{argv[:4]} exited {process.returncode}: {error}")
    return Measured(wall=wall, rss_mb=usage.ru_maxrss / 1024, code=process.returncode)


def command_argv(paths: dict[str, Path], plan: Path, stack: str, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "audit_trail",
        "--stack",
        stack,
        "--plan",
        str(plan),
        "--atlas-logs",
        str(paths["atlas"]),
        "--cloudtrail",
        str(paths["cloudtrail"]),
        "--vault-audit",
        str(paths["vault"]),
        "--allow-user",
        AGENT_USER,
        "--out",
        str(out),
    ]


def scan_argv(paths: dict[str, Path]) -> list[str]:
    pattern = str(paths["atlas"] / "**" / "*.log.gz")
    query = f"SELECT count(*) FROM read_json('{pattern}')"  # noqa: S608 (our own path)
    code = (
        "import duckdb; db = duckdb.connect(config={'threads': 2}); "
        f"print(db.execute({query!r}).fetchone()[0])"
    )
    return [sys.executable, "-c", code]


def uptime() -> str:
    done = subprocess.run(["/usr/bin/uptime"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def report(name: str, runs: Sequence[Measured]) -> tuple[float, float]:
    walls = [m.wall for m in runs]
    rss = statistics.median(m.rss_mb for m in runs)
    print(
        f"{name:12} wall s min/median/max {min(walls):.2f}/{statistics.median(walls):.2f}/"
        f"{max(walls):.2f}  peak RSS MB {rss:.0f}"
    )
    return statistics.median(walls), max(m.rss_mb for m in runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_trail")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the plan and the logs there")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        plan_path = plan_estate(workdir)
        plan = json.loads(plan_path.read_text())
        marker = workdir / "logs" / "generated.json"
        if marker.exists() and json.loads(marker.read_text()) == {"messages": args.messages}:
            logs = workdir / "logs"
            paths = {
                "atlas": logs / "atlas",
                "cloudtrail": logs / "cloudtrail",
                "vault": logs / "vault-audit.log",
            }
            print(f"reusing the logs generated in {logs}")
        else:
            paths = generate(workdir / "logs", plan, args.messages)
            marker.write_text(json.dumps({"messages": args.messages}))
        print(
            f"planning and generation took {time.perf_counter() - started:.1f} s "
            "(not measured below)"
        )
        print(f"load before: {uptime()}")
        command: list[Measured] = []
        scan: list[Measured] = []
        for round_ in range(args.rounds):
            scan.append(measure(scan_argv(paths)))
            out = workdir / f"out-{round_}"
            command.append(measure(command_argv(paths, plan_path, plan["stack"], out)))
        findings = (out / "findings.jsonl").read_text().splitlines()
        print(f"the command's last run: {len(findings)} findings (expected none)")
        print(f"load after:  {uptime()}")
    wall, rss = report("command", command)
    scan_wall, _ = report("bare scan", scan)
    ratio = wall / scan_wall
    print(f"command / bare scan (medians): {ratio:.2f}")
    checks = [
        (f"command < {TARGET_SECONDS:.0f} s", wall < TARGET_SECONDS, f"{wall:.2f} s"),
        (f"command < {TARGET_RSS_MB:.0f} MB", rss < TARGET_RSS_MB, f"{rss:.0f} MB"),
        (f"command / bare scan <= {TARGET_RATIO}", ratio <= TARGET_RATIO, f"{ratio:.2f}"),
    ]
    for name, met, value in checks:
        print(f"- {name}: {value} ({'met' if met else 'NOT met'})")
    return 0 if all(met for _, met, _ in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
