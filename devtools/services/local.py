"""Real services (moto, PostgreSQL) for the tests and the benchmarks, started on 127.0.0.1 on
free ports.

Each starter raises `ServiceError` with a clear message when its service does not come up; the
test fixtures turn that into `pytest.fail` (never a skip), a benchmark into its exit status.
Dependency-light (requests and the standard library): the MWAA-constraints job imports it too.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

VENV_BIN = Path(sys.executable).parent


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], *, what: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.2)
    tail = log.read_text()[-2000:] if log.exists() else "(no log)"
    raise ServiceError(f"{what} did not start within {timeout:.0f}s; last log lines:\n{tail}")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def start(
    name: str,
    argv: list[str],
    *,
    log: Path,
    env: dict[str, str] | None = None,
    clean: bool = False,
) -> Process:
    """Start a service; `clean` gives it exactly `env` instead of this process' env plus `env`."""
    executable = shutil.which(argv[0]) or argv[0]
    if not Path(executable).exists():
        raise ServiceError(f"{name}: executable {argv[0]} not found")
    handle = log.open("wb")
    popen = subprocess.Popen(  # noqa: S603 (a fixed argv: the service's own binary)
        [executable, *argv[1:]],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=dict(env or {}) if clean else {**os.environ, **(env or {})},
    )
    return Process(name=name, popen=popen, log=log)


# -- moto ---------------------------------------------------------------------------------


@dataclass
class Moto:
    """moto_server with its request recorder: the server-side log of every AWS API call."""

    url: str
    recording: Path
    process: Process

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/recorder/reset-recording", timeout=5)

    def calls(self) -> list[tuple[str, str]]:
        """(service, action) of each recorded request, e.g. ("secretsmanager", "GetSecretValue")."""
        if not self.recording.exists():
            return []
        result = []
        for line in self.recording.read_text().splitlines():
            entry = json.loads(line)
            target = entry["headers"].get("X-Amz-Target")
            if target:
                service, action = target.split(".", 1)
                result.append((service, action))
                continue
            body = entry["body"] or ""
            if entry["body_encoded"]:
                body = base64.b64decode(body).decode(errors="replace")
            params = dict(p.split("=", 1) for p in body.split("&") if "=" in p)
            result.append(("query", params.get("Action", "?")))
        return result

    def secret_reads(self) -> list[str]:
        """SecretId of every GetSecretValue call."""
        ids = []
        for line in self.recording.read_text().splitlines() if self.recording.exists() else []:
            entry = json.loads(line)
            if entry["headers"].get("X-Amz-Target") == "secretsmanager.GetSecretValue":
                body = entry["body"]
                if entry["body_encoded"]:
                    body = base64.b64decode(body).decode()
                ids.append(json.loads(body)["SecretId"])
        return ids


def start_moto(workdir: Path) -> Moto:
    port = free_port()
    recording = workdir / "moto-recording.jsonl"
    process = start(
        "moto",
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        log=workdir / "moto.log",
        env={"MOTO_RECORDER_FILEPATH": str(recording), "MOTO_ENABLE_RECORDING": "true"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: requests.get(f"{url}/moto-api/", timeout=1).status_code == 200,
            what="moto_server",
            timeout=30,
            log=process.log,
        )
    except ServiceError:
        process.stop()
        raise
    return Moto(url=url, recording=recording, process=process)


# -- OpenBao: devtools/services/openbao.py ------------------------------------------------


# -- PostgreSQL ---------------------------------------------------------------------------


@dataclass
class Postgres:
    port: int
    superuser: str
    password: str
    bindir: Path
    datadir: Path
    runas: list[str] = field(default_factory=list)

    def psql(self, sql: str, *, user: str | None = None, password: str | None = None) -> str:
        env = {**os.environ, "PGPASSWORD": password or self.password, "PGCONNECT_TIMEOUT": "5"}
        result = subprocess.run(  # noqa: S603 (PostgreSQL's psql, fixed argv)
            [
                str(self.bindir / "psql"),
                f"host=127.0.0.1 port={self.port} dbname=postgres user={user or self.superuser}",
                "-tAc",
                sql,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def stop(self) -> None:
        subprocess.run(  # noqa: S603 (PostgreSQL's pg_ctl, fixed argv)
            [
                *self.runas,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "fast",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def postgres_bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not candidates:
        raise ServiceError("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin")
    return candidates[-1].parent


def start_postgres(workdir: Path) -> Postgres:
    bindir = postgres_bindir()
    # Not under pytest's tmp dir: its parents are private to root, and the server runs as the
    # postgres user when the tests run as root.
    base = Path(tempfile.mkdtemp(prefix="atlas-it-pg-"))
    datadir, sockets = base / "data", base / "sock"
    sockets.mkdir()
    password = "it-superuser-pw"  # noqa: S105 (throwaway cluster on loopback, removed with the session)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    # initdb and postgres refuse to run as root: run them as the postgres system user.
    runas: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres")
        shutil.chown(sockets, user="postgres")
        shutil.chown(pwfile, user="postgres")
        runas = ["runuser", "-u", "postgres", "--"]
    init = subprocess.run(  # noqa: S603 (PostgreSQL's initdb, fixed argv)
        [
            *runas,
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        raise ServiceError(f"initdb failed: {init.stderr[-1500:]}")
    port = free_port()
    log = base / "postgres.log"
    started = subprocess.run(  # noqa: S603 (PostgreSQL's pg_ctl, fixed argv)
        [
            *runas,
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-l",
            str(log),
            "-w",
            "-t",
            "30",
            "-o",
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1",
            "start",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        tail = log.read_text()[-1500:] if log.exists() else ""
        raise ServiceError(f"PostgreSQL did not start: {started.stderr[-500:]}\n{tail}")
    pg = Postgres(
        port=port,
        superuser="postgres",
        password=password,
        bindir=bindir,
        datadir=datadir,
        runas=runas,
    )
    pg.psql("select 1")
    return pg


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path
