"""The `pulumi` CLI stand-in the executed CI tests put on PATH (no Pulumi CLI runs here).

It is the only faked tool: `aws`, `curl`, `jq`, `git` and `bash` are the real ones. Each call
appends one JSON line to $PULUMI_STANDIN_RECORD: its arguments, the commit checked out in its
working directory, the names (never the values) of its environment, and what its identities are
as the servers see them (the AWS caller from STS, the Vault token's policies from lookup-self).
Test-only: the values of the secret variables it received go to $PULUMI_STANDIN_SECRETS, so a
test can look for them in the job's log.
What it answers comes from the project's offline plan of the stack, run in the working
directory (`python -m infra.plan`): `preview`/`up` print the plan, `stack export` writes the
plan's resources as a deployment, `stack output --json` prints the plan's exports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "VAULT_TOKEN",
    "MONGODB_ATLAS_CLIENT_SECRET",
    "OKTA_API_PRIVATE_KEY",
)


def option(argv: list[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


def git(*args: str) -> str:
    command = [shutil.which("git") or "git", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return result.stdout.strip()


def plan(stack: str) -> dict[str, Any]:
    """The offline plan of the checked-out stack file (cached per clean commit tree)."""
    tree = git("rev-parse", "HEAD^{tree}")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    cache_dir = Path(os.environ["PULUMI_STANDIN_CACHE"])
    cached = cache_dir / f"{tree}-{stack}.json"
    if tree and not dirty and cached.exists():
        loaded: dict[str, Any] = json.loads(cached.read_text())
        return loaded
    target = cache_dir / f"work-{os.getpid()}-{stack}.json"
    subprocess.run(
        [".venv/bin/python", "-m", "infra.plan", "--stack", stack, "--json", str(target)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if tree and not dirty:
        target.replace(cached)
        target = cached
    result: dict[str, Any] = json.loads(target.read_text())
    return result


def aws_caller() -> str | None:
    if "AWS_ACCESS_KEY_ID" not in os.environ:
        return None
    import boto3

    arn: str = boto3.client("sts").get_caller_identity()["Arn"]
    return arn


def vault_token_policies() -> dict[str, Any] | None:
    if "VAULT_TOKEN" not in os.environ:
        return None
    address = os.environ["VAULT_ADDR"]
    if not address.startswith(("http://", "https://")):
        raise ValueError(f"VAULT_ADDR {address} is not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        f"{address}/v1/auth/token/lookup-self",
        headers={"X-Vault-Token": os.environ["VAULT_TOKEN"]},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - scheme checked above
        data = json.load(response)["data"]
    return {"policies": sorted(data["policies"]), "meta": data.get("meta") or {}}


def record(argv: list[str]) -> None:
    entry = {
        "argv": argv,
        "head": git("rev-parse", "HEAD"),
        "env": sorted(os.environ),
        "aws_caller": aws_caller() if argv[:1] != ["login"] else None,
        "vault": vault_token_policies() if argv[:1] != ["login"] else None,
    }
    with open(os.environ["PULUMI_STANDIN_RECORD"], "a") as log:
        log.write(json.dumps(entry) + "\n")
    seen = {name: os.environ[name] for name in SECRET_VARIABLES if name in os.environ}
    with open(os.environ["PULUMI_STANDIN_SECRETS"], "a") as log:
        log.write(json.dumps(seen) + "\n")


def main(argv: list[str]) -> int:
    record(argv)
    command = argv[:2]
    stack = option(argv, "--stack")
    if argv[:1] == ["login"]:
        print(f"Logged in to {argv[1]} (stand-in)")
        return 0
    if argv[:1] in (["preview"], ["up"]) and stack:
        planned = plan(stack)
        print(
            f"{argv[0]} of {stack} (stand-in): the offline plan, {len(planned['resources'])} resources"
        )
        for resource in planned["resources"]:
            print(f"  + {resource['type']} {resource['name']}")
        return 0
    if command == ["stack", "export"] and stack:
        resources = [{"urn": r["urn"], "type": r["type"]} for r in plan(stack)["resources"]]
        document = {"version": 3, "deployment": {"resources": resources}}
        target = option(argv, "--file")
        text = json.dumps(document)
        if target:
            Path(target).write_text(text)
        else:
            print(text)
        return 0
    if command == ["stack", "output"] and stack and "--json" in argv:
        print(json.dumps(plan(stack)["outputs"], indent=2))
        return 0
    print(f"pulumi stand-in: {' '.join(argv)} is not modelled", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
