"""Which files the evidence reads, found under the directories the command is given.

- Atlas audit logs: every file under `--atlas-logs`, gzip or plain JSON lines. In the
  push-based log export's layout, `{prefix}/{cluster}/{hostname}/{logType}/{YYYY-MM-DD}/
  {timestamp}-{logType}.log` (Atlas Admin API, log integration `useLegacyPathStructure`: "the
  legacy daily-folder path structure compatible with Push-Based Log Export"), with the prefix
  ending in the project id, only the log types whose name says `audit` are read; the mongod and
  mongos logs beside them are skipped.
- CloudTrail: every `.json` or `.json.gz` file under `--cloudtrail`; those under a
  `CloudTrail-Digest/` folder are digest files (AWS CloudTrail User Guide, "CloudTrail digest
  file structure"), the others log files (`{"Records": [...]}`).
- Vault: the file audit logs given with `--vault-audit`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
# {projectId}/{cluster}/{hostname}/{logType}/...: the segment after the host names the log type.
_ATLAS_LAYOUT = re.compile(r"/[0-9a-f]{24}/[^/]+/[^/]+/(?P<log_type>[^/]+)/.+")
_DIGEST_DIR = "CloudTrail-Digest"


class InputError(ValueError):
    """An input cannot be read; the message names the file (and line) and what is wrong."""


@dataclass(frozen=True, kw_only=True)
class InputFiles:
    atlas: tuple[Path, ...]
    cloudtrail_logs: tuple[Path, ...]
    cloudtrail_digests: tuple[Path, ...]
    vault: tuple[Path, ...]
    skipped: tuple[Path, ...]
    """Atlas export files of other log types (mongod, mongos)."""


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def _files_under(root: Path, what: str) -> list[Path]:
    if not root.exists():
        raise InputError(f"{root}: no such directory ({what})")
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def is_atlas_audit_file(path: Path) -> bool:
    """False for an export file of another log type (mongod, mongos): see the module doc."""
    match = _ATLAS_LAYOUT.search(path.as_posix())
    if match is None:
        return True
    return "audit" in match.group("log_type").lower()


def _is_json_file(path: Path) -> bool:
    return path.name.endswith((".json", ".json.gz"))


def discover(*, atlas_logs: Path, cloudtrail: Path, vault_audit: Sequence[Path] = ()) -> InputFiles:
    """The files to read; InputError when a directory is missing or holds nothing to read."""
    atlas_all = _files_under(atlas_logs, "--atlas-logs")
    atlas = [p for p in atlas_all if is_atlas_audit_file(p)]
    audit = set(atlas)
    if not atlas:
        raise InputError(f"{atlas_logs}: no Atlas audit log file in it (--atlas-logs)")
    trail = [p for p in _files_under(cloudtrail, "--cloudtrail") if _is_json_file(p)]
    digests = [p for p in trail if _DIGEST_DIR in p.parts]
    logs = [p for p in trail if _DIGEST_DIR not in p.parts]
    if not logs:
        raise InputError(f"{cloudtrail}: no CloudTrail log file (.json, .json.gz) in it")
    for path in vault_audit:
        if not path.is_file():
            raise InputError(f"{path}: no such file (--vault-audit)")
    return InputFiles(
        atlas=tuple(atlas),
        cloudtrail_logs=tuple(logs),
        cloudtrail_digests=tuple(digests),
        vault=tuple(vault_audit),
        skipped=tuple(p for p in atlas_all if p not in audit),
    )


def split_by_compression(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """(gzip files, plain files): export objects need not carry a `.gz` suffix."""
    gz: list[Path] = []
    plain: list[Path] = []
    for path in paths:
        (gz if is_gzip(path) else plain).append(path)
    return gz, plain
