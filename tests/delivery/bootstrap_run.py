"""Run the bootstrap program offline (as tests/bootstrap/test_program.py and the attack tests do)."""

from __future__ import annotations

import runpy
from typing import Any

import pulumi
import yaml

from devtools.offline import PlanMocks, ProgramRun, run_program, to_config_strings
from tests.paths import ROOT

PROJECT = "airflow-atlas-identity-bootstrap"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
PROD_ACCOUNT = "987654321098"
PROVIDER_ARN = f"arn:aws:iam::{PROD_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
KEY_ARN = f"arn:aws:kms:eu-west-1:{PROD_ACCOUNT}:key/deployer-secrets-key"
BUCKET_ARN = "arn:aws:s3:::acme-aai-pulumi-state-prod"


class BootstrapMocks(PlanMocks):
    """PlanMocks plus the ARNs of the resource types only the bootstrap declares."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        inputs = args.inputs
        if args.typ == OIDC:
            host = inputs["url"].removeprefix("https://")
            outputs["arn"] = f"arn:aws:iam::{self.account_id}:oidc-provider/{host}"
        elif args.typ == "aws:kms/key:Key":
            outputs |= {
                "arn": f"arn:aws:kms:{self.region}:{self.account_id}:key/{args.name}",
                "keyId": args.name,
            }
        elif args.typ == "aws:iam/policy:Policy":
            outputs["arn"] = f"arn:aws:iam::{self.account_id}:policy/{inputs['name']}"
        elif args.typ == "aws:s3/bucket:Bucket":
            outputs |= {"arn": f"arn:aws:s3:::{inputs['bucket']}", "bucket": inputs["bucket"]}
        return resource_id, outputs


def stack_values(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "bootstrap" / f"Pulumi.{stack}.yaml").read_text())
    prefix = f"{PROJECT}:"
    return {k.removeprefix(prefix): v for k, v in document["config"].items()}


def _bootstrap_program() -> None:
    runpy.run_path(str(ROOT / "bootstrap" / "__main__.py"), run_name="__main__")


def run_bootstrap(values: dict[str, Any], account: str = PROD_ACCOUNT) -> ProgramRun:
    return run_program(
        project=PROJECT,
        stack="test",
        config=to_config_strings(PROJECT, values),
        mocks=BootstrapMocks(account_id=account, region="eu-west-1"),
        program=_bootstrap_program,
    )
