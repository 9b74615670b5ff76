"""Unreadable input: exit 2 and one line naming the file and the line, never a traceback."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.audit_samples import Inputs
from tests.audit_trail.conftest import ALLOW_AGENT, DEV_PLAN, clean_day, run_cli, run_command

EXIT_BAD_INPUT = 2


def _atlas_file(inputs: Inputs) -> Path:
    """The export file holding the most messages."""
    return max(
        sorted(inputs.atlas.rglob("*.log.gz")),
        key=lambda p: len(gzip.decompress(p.read_bytes()).splitlines()),
    )


def _replace_line(path: Path, number: int, text: str) -> None:
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    lines[number - 1] = text
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))


def _bad_json_line(inputs: Inputs) -> tuple[Path, str]:
    path = _atlas_file(inputs)
    _replace_line(path, 2, '{"atype": "authCheck", "ts": {"$date": ')
    return path, f"{path}:2: not JSON"


def _bad_timestamp(inputs: Inputs) -> tuple[Path, str]:
    path = _atlas_file(inputs)
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    message = json.loads(lines[0])
    message["ts"] = {"$date": "yesterday at noon"}
    _replace_line(path, 1, json.dumps(message))
    return path, f"{path}:1: ts is not {{$date: <ISO 8601 time>}}"


def _no_atype(inputs: Inputs) -> tuple[Path, str]:
    path = _atlas_file(inputs)
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    message = json.loads(lines[0])
    del message["atype"]
    _replace_line(path, 1, json.dumps(message))
    return path, f"{path}:1: no atype string"


def _truncated_gzip(inputs: Inputs) -> tuple[Path, str]:
    path = _atlas_file(inputs)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path, f"{path}:"


def _not_records(inputs: Inputs) -> tuple[Path, str]:
    path = sorted(inputs.cloudtrail.rglob("*_CloudTrail_*.json.gz"))[0]
    path.write_bytes(gzip.compress(json.dumps({"events": []}).encode()))
    return path, f'{path}:1: not a CloudTrail log file: no {{"Records": [...]}} object'


def _bad_vault_line(inputs: Inputs) -> tuple[Path, str]:
    lines = inputs.vault.read_text().splitlines()
    lines[1] = '{"time": "2026-12-01T08:00:00Z", "type": "response", "auth": '
    inputs.vault.write_text("\n".join(lines) + "\n")
    return inputs.vault, f"{inputs.vault}:2: not JSON"


BREAKAGES: dict[str, Callable[[Inputs], tuple[Path, str]]] = {
    "bad JSON line": _bad_json_line,
    "bad timestamp": _bad_timestamp,
    "message without atype": _no_atype,
    "truncated gzip": _truncated_gzip,
    "CloudTrail file without Records": _not_records,
    "bad Vault line": _bad_vault_line,
}


def _assert_one_line(stderr: str, expected: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {expected}"), stderr


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_an_unreadable_input_names_its_file_and_line(
    breakage: str, dev_plan: dict[str, Any], tmp_path: Path
) -> None:
    inputs = clean_day(dev_plan, rounds=1).write(tmp_path / "logs")
    _, expected = BREAKAGES[breakage](inputs)
    result = run_command(inputs, tmp_path / "out", extra=ALLOW_AGENT)
    assert result.code == EXIT_BAD_INPUT, result.stdout
    _assert_one_line(result.stderr, expected)


def test_missing_inputs_and_a_foreign_plan_are_refused(
    dev_plan: dict[str, Any], tmp_path: Path
) -> None:
    inputs = clean_day(dev_plan, rounds=1).write(tmp_path / "logs")
    missing = Inputs(atlas=tmp_path / "nowhere", cloudtrail=inputs.cloudtrail, vault=inputs.vault)
    result = run_command(missing, tmp_path / "out")
    assert result.code == EXIT_BAD_INPUT
    _assert_one_line(result.stderr, f"{tmp_path / 'nowhere'}: no such directory")

    prod = DEV_PLAN.with_name("prod.plan.json")
    result = run_command(inputs, tmp_path / "out", plan=prod)
    assert result.code == EXIT_BAD_INPUT
    _assert_one_line(result.stderr, f"{prod}: this is the plan of stack 'prod', not 'dev'")

    result = run_cli(
        [
            "--stack",
            "dev",
            "--plan",
            str(DEV_PLAN),
            "--atlas-logs",
            "s3://bucket/atlas",
            "--cloudtrail",
            str(inputs.cloudtrail),
        ],
        tmp_path / "out",
    )
    assert result.code == EXIT_BAD_INPUT
    _assert_one_line(result.stderr, "an input is an s3:// URI: pass --from-s3")
