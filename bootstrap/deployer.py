"""The keyless deployer of one environment: GitHub OIDC -> AWS roles, state bucket, secrets key.

One bootstrap stack per AWS account (= per environment of the main program). It creates:
- the GitHub Actions OIDC provider (`token.actions.githubusercontent.com`, audience
  `sts.amazonaws.com`), unless the account already has one;
- the deploy role, assumable only by workflow jobs of exactly this repository running in exactly
  the listed GitHub environments (`sub` = `repo:<owner>/<repo>:environment:<env>`);
- the read-only preview role, assumable only by pull-request jobs of exactly this repository
  (`sub` = `repo:<owner>/<repo>:pull_request`);
- the Pulumi state bucket (versioned, encrypted with the key below, public access blocked,
  TLS only) and the KMS key that is the stacks' secrets provider (`awskms://alias/...`);
- empty Secrets Manager secrets for the Atlas and Okta provider credentials that the workflows
  fetch at run time (values are put by a person, never by Pulumi or GitHub);
- optionally, Vault JWT login for GitHub Actions (deploy and preview roles with their policies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_vault as vault

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"
# Pulumi's DIY backend keeps stacks under `.pulumi/`; a preview only takes (and drops) a lock.
STATE_LOCKS_PREFIX = ".pulumi/locks/"
# A first `up` of prod creates an MWAA environment (20-40 minutes) before the Vault and Atlas
# resources that depend on it: deploy sessions (AWS role, Vault token) last two hours.
SESSION_SECONDS = 3600
DEPLOY_SESSION_SECONDS = 7200


@dataclass(frozen=True, kw_only=True)
class VaultCiArgs:
    """Vault JWT login for GitHub Actions, trusting GitHub's OIDC issuer."""

    mount: str
    """Auth mount path, e.g. `github-actions`."""
    audience: str
    """The `aud` the workflows request for Vault (vault-action `jwtGithubAudience`)."""
    stack_prefix: str
    """`<namePrefix>-<environment>`: every mount, auth path and policy the program manages."""
    deploy_token_ttl: int = DEPLOY_SESSION_SECONDS
    preview_token_ttl: int = SESSION_SECONDS


@dataclass(frozen=True, kw_only=True)
class DeployerArgs:
    repository: str
    """`owner/repo`, exactly (no wildcard)."""
    environment: str
    """The main program's stack this account hosts, e.g. `dev`."""
    github_environments: tuple[str, ...]
    """GitHub environments whose jobs may deploy (e.g. `prod`, `prod-rotation`)."""
    account_id: str
    region: str
    name_prefix: str
    state_bucket_name: str
    managed_secret_prefixes: tuple[str, ...]
    """Secrets Manager name prefixes the program manages (connections, Okta keys)."""
    provider_secrets_prefix: str
    """Where the Atlas/Okta provider credentials live: `<prefix>/deploy/*`, `<prefix>/preview/*`."""
    existing_oidc_provider_arn: str | None = None
    """Use the account's existing GitHub OIDC provider instead of creating one."""
    create_preview_role: bool = True
    vault_ci: VaultCiArgs | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def subjects(self) -> list[str]:
        return [f"repo:{self.repository}:environment:{e}" for e in self.github_environments]

    @property
    def pull_request_subject(self) -> str:
        return f"repo:{self.repository}:pull_request"


def _policy(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def github_trust(provider_arn: pulumi.Input[str], subjects: Sequence[str]) -> dict[str, Any]:
    """Trust exactly these `sub` values of GitHub's OIDC tokens minted for STS."""
    return _policy(
        {
            "Sid": "GitHubActionsOidc",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                    f"{GITHUB_OIDC_HOST}:sub": list(subjects),
                }
            },
        }
    )


class Deployer(pulumi.ComponentResource):
    """Everything a GitHub workflow needs to run Pulumi for one environment without a stored key."""

    oidc_provider_arn: pulumi.Output[str]
    deploy_role_arn: pulumi.Output[str]
    preview_role_arn: pulumi.Output[str] | None
    state_bucket: pulumi.Output[str]
    secrets_key_alias: pulumi.Output[str]
    provider_secret_names: dict[str, str]

    def __init__(
        self, name: str, args: DeployerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("airflow-atlas-identity-bootstrap:index:Deployer", name, None, opts)
        self._name = name
        self._args = args
        self.oidc_provider_arn = self._oidc_provider()
        key = self._secrets_key()
        bucket = self._state_bucket(key)
        self.state_bucket = bucket.bucket
        self.provider_secret_names = {}
        secrets = self._provider_secrets()
        self.deploy_role_arn = self._deploy_role(bucket, key, secrets["deploy"])
        self.preview_role_arn = (
            self._preview_role(bucket, key, secrets["preview"])
            if args.create_preview_role
            else None
        )
        if args.vault_ci is not None:
            self._vault_ci(args.vault_ci)
        self.register_outputs(
            {
                "oidcProviderArn": self.oidc_provider_arn,
                "deployRoleArn": self.deploy_role_arn,
                "previewRoleArn": self.preview_role_arn,
                "stateBucket": self.state_bucket,
                "secretsKeyAlias": self.secrets_key_alias,
            }
        )

    def _child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    @property
    def _base(self) -> str:
        return f"{self._args.name_prefix}-{self._args.environment}"

    # -- identity --------------------------------------------------------------------------

    def _oidc_provider(self) -> pulumi.Output[str]:
        a = self._args
        if a.existing_oidc_provider_arn:
            return pulumi.Output.from_input(a.existing_oidc_provider_arn)
        provider = aws.iam.OpenIdConnectProvider(
            f"{self._name}-github-oidc",
            url=GITHUB_OIDC_URL,
            client_id_lists=[STS_AUDIENCE],
            # No thumbprints: IAM validates GitHub's certificate against its own trusted CAs.
            tags={**a.tags, "purpose": "github-actions"},
            opts=self._child(),
        )
        return provider.arn

    def _role(
        self, suffix: str, subjects: Sequence[str], description: str, session_seconds: int
    ) -> aws.iam.Role:
        a = self._args
        return aws.iam.Role(
            f"{self._name}-{suffix}-role",
            name=f"{self._base}-github-{suffix}",
            description=description,
            assume_role_policy=pulumi.Output.json_dumps(
                github_trust(self.oidc_provider_arn, subjects)
            ),
            max_session_duration=session_seconds,
            tags={**a.tags, "environment": a.environment, "purpose": f"github-{suffix}"},
            opts=self._child(),
        )

    # -- state -----------------------------------------------------------------------------

    def _secrets_key(self) -> aws.kms.Key:
        a = self._args
        key = aws.kms.Key(
            f"{self._name}-secrets-key",
            description=f"Pulumi secrets provider and state encryption ({a.environment})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags={**a.tags, "environment": a.environment, "purpose": "pulumi-secrets"},
            # The key policy stays the account default (IAM decides); losing it loses every
            # secret in the state, so it is protected.
            opts=self._child(protect=True),
        )
        alias = aws.kms.Alias(
            f"{self._name}-secrets-key-alias",
            name=f"alias/{self._base}-pulumi",
            target_key_id=key.key_id,
            opts=self._child(),
        )
        self.secrets_key_alias = alias.name
        return key

    def _state_bucket(self, key: aws.kms.Key) -> aws.s3.Bucket:
        a = self._args
        bucket = aws.s3.Bucket(
            f"{self._name}-state",
            bucket=a.state_bucket_name,
            tags={**a.tags, "environment": a.environment, "purpose": "pulumi-state"},
            opts=self._child(protect=True),
        )
        aws.s3.BucketVersioning(
            f"{self._name}-state-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=self._child(),
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-state-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=self._child(),
        )
        aws.s3.BucketPublicAccessBlock(
            f"{self._name}-state-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._child(),
        )
        aws.s3.BucketOwnershipControls(
            f"{self._name}-state-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self._child(),
        )
        aws.s3.BucketPolicy(
            f"{self._name}-state-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(
                _policy(
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                )
            ),
            opts=self._child(),
        )
        return bucket

    def _provider_secrets(self) -> dict[str, list[aws.secretsmanager.Secret]]:
        """Empty containers for the Atlas and Okta provider credentials, per role."""
        a = self._args
        created: dict[str, list[aws.secretsmanager.Secret]] = {"deploy": [], "preview": []}
        for purpose in ("deploy", "preview"):
            if purpose == "preview" and not a.create_preview_role:
                continue
            for system in ("atlas", "okta"):
                name = f"{a.provider_secrets_prefix}/{purpose}/{system}"
                self.provider_secret_names[f"{purpose}/{system}"] = name
                created[purpose].append(
                    aws.secretsmanager.Secret(
                        f"{self._name}-{purpose}-{system}-credentials",
                        name=name,
                        description=f"{system} provider credentials for the GitHub {purpose} "
                        f"role ({a.environment}); value put by an operator, read at run time",
                        recovery_window_in_days=7,
                        tags={**a.tags, "environment": a.environment, "purpose": f"ci-{purpose}"},
                        opts=self._child(),
                    )
                )
        return created

    # -- permissions -----------------------------------------------------------------------

    def _state_statements(
        self, bucket: aws.s3.Bucket, key: aws.kms.Key, *, write_all: bool
    ) -> list[Mapping[str, Any]]:
        writable = (
            pulumi.Output.concat(bucket.arn, "/*")
            if write_all
            else pulumi.Output.concat(bucket.arn, "/", STATE_LOCKS_PREFIX, "*")
        )
        return [
            {
                "Sid": "ListState",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
                "Resource": bucket.arn,
            },
            {
                "Sid": "ReadState",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": pulumi.Output.concat(bucket.arn, "/*"),
            },
            {
                "Sid": "WriteStateOrLocks" if write_all else "TakeStateLocks",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": writable,
            },
            {
                "Sid": "UseSecretsKey",
                "Effect": "Allow",
                "Action": (
                    ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
                    if write_all
                    # Reading the state bucket (SSE-KMS) and the stack's data key.
                    else ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
                ),
                "Resource": key.arn,
            },
        ]

    @staticmethod
    def _read_secrets(sid: str, secrets: Sequence[aws.secretsmanager.Secret]) -> Mapping[str, Any]:
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [s.arn for s in secrets],
        }

    def _deploy_role(
        self,
        bucket: aws.s3.Bucket,
        key: aws.kms.Key,
        secrets: Sequence[aws.secretsmanager.Secret],
    ) -> pulumi.Output[str]:
        a = self._args
        role = self._role(
            "deploy",
            a.subjects(),
            f"pulumi up of {a.environment} from {a.repository} "
            f"(GitHub environments {', '.join(a.github_environments)})",
            DEPLOY_SESSION_SECONDS,
        )
        statements = [
            *self._state_statements(bucket, key, write_all=True),
            self._read_secrets("ReadProviderCredentials", secrets),
            *self.program_statements(),
        ]
        aws.iam.RolePolicy(
            f"{self._name}-deploy-policy",
            role=role.id,
            name="deploy",
            policy=pulumi.Output.json_dumps(_policy(*statements)),
            opts=self._child(),
        )
        return role.arn

    def program_statements(self) -> list[Mapping[str, Any]]:
        """What the main program manages in this account, scoped by name prefix where AWS can."""
        a = self._args
        region, account, base = a.region, a.account_id, self._base
        roles = f"arn:aws:iam::{account}:role/{base}-*"
        return [
            {
                "Sid": "ManageThisStacksRoles",
                "Effect": "Allow",
                "Action": [
                    "iam:CreateRole",
                    "iam:DeleteRole",
                    "iam:GetRole",
                    "iam:UpdateRole",
                    "iam:UpdateRoleDescription",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:TagRole",
                    "iam:UntagRole",
                    "iam:ListRoleTags",
                    "iam:PutRolePolicy",
                    "iam:GetRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:ListRolePolicies",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListInstanceProfilesForRole",
                ],
                "Resource": roles,
            },
            {
                "Sid": "PassExecutionRoleToMwaaOnly",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": roles,
                "Condition": {"StringEquals": {"iam:PassedToService": "airflow.amazonaws.com"}},
            },
            {
                "Sid": "CreateMwaaServiceLinkedRole",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": f"arn:aws:iam::{account}:role/aws-service-role/airflow.amazonaws.com/*",
                "Condition": {"StringEquals": {"iam:AWSServiceName": "airflow.amazonaws.com"}},
            },
            {
                "Sid": "ManageThisStacksSecrets",
                "Effect": "Allow",
                "Action": [
                    "secretsmanager:CreateSecret",
                    "secretsmanager:DeleteSecret",
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecret",
                    "secretsmanager:RestoreSecret",
                    "secretsmanager:TagResource",
                    "secretsmanager:UntagResource",
                    "secretsmanager:GetResourcePolicy",
                    "secretsmanager:ListSecretVersionIds",
                ],
                "Resource": [
                    f"arn:aws:secretsmanager:{region}:{account}:secret:{prefix.rstrip('/')}/*"
                    for prefix in a.managed_secret_prefixes
                ],
            },
            {
                "Sid": "ManageThisAccountsMwaaEnvironments",
                "Effect": "Allow",
                "Action": [
                    "airflow:CreateEnvironment",
                    "airflow:UpdateEnvironment",
                    "airflow:DeleteEnvironment",
                    "airflow:GetEnvironment",
                    "airflow:TagResource",
                    "airflow:UntagResource",
                    "airflow:ListTagsForResource",
                ],
                "Resource": f"arn:aws:airflow:{region}:{account}:environment/*",
            },
            {
                # Broad on purpose: MWAA validates the VPC, subnets and security groups with the
                # caller's Describe calls, which have no resource-level permissions.
                "Sid": "DescribeNetworkForMwaa",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeVpcs",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeVpcEndpoints",
                    "ec2:DescribeNetworkInterfaces",
                ],
                "Resource": "*",
            },
            {
                "Sid": "MwaaVpcEndpointsAndInterfaces",
                "Effect": "Allow",
                "Action": ["ec2:CreateVpcEndpoint", "ec2:CreateNetworkInterface"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
            },
            {
                # KMS keys for the connection secrets are referenced by ARN in the stack file;
                # the program only describes them and lets Secrets Manager use them.
                "Sid": "UseCustomerKeysThroughSecretsManager",
                "Effect": "Allow",
                "Action": ["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": f"arn:aws:kms:{region}:{account}:key/*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}
                },
            },
        ]

    def _preview_role(
        self,
        bucket: aws.s3.Bucket,
        key: aws.kms.Key,
        secrets: Sequence[aws.secretsmanager.Secret],
    ) -> pulumi.Output[str]:
        a = self._args
        role = self._role(
            "preview",
            [a.pull_request_subject],
            f"pulumi preview of {a.environment} on pull requests of {a.repository}; read-only",
            SESSION_SECONDS,
        )
        aws.iam.RolePolicy(
            f"{self._name}-preview-policy",
            role=role.id,
            name="preview",
            policy=pulumi.Output.json_dumps(
                _policy(
                    *self._state_statements(bucket, key, write_all=False),
                    self._read_secrets("ReadReadOnlyProviderCredentials", secrets),
                )
            ),
            opts=self._child(),
        )
        return role.arn

    # -- Vault -----------------------------------------------------------------------------

    def _vault_ci(self, v: VaultCiArgs) -> None:
        a = self._args
        backend = vault.jwt.AuthBackend(
            f"{self._name}-vault-github",
            path=v.mount,
            type="jwt",
            description=f"GitHub Actions of {a.repository}",
            oidc_discovery_url=GITHUB_OIDC_URL,
            bound_issuer=GITHUB_OIDC_URL,
            opts=self._child(),
        )
        policies = vault_ci_policies(v.stack_prefix)
        created = {
            purpose: vault.Policy(
                f"{self._name}-vault-ci-{purpose}-policy",
                name=f"{v.stack_prefix}-ci-{purpose}",
                policy=document,
                opts=self._child(),
            )
            for purpose, document in policies.items()
        }
        logins: list[tuple[str, str, str]] = [
            (f"deploy-{env}", subject, "deploy")
            for env, subject in zip(a.github_environments, a.subjects(), strict=True)
        ]
        if a.create_preview_role:
            logins.append(("preview", a.pull_request_subject, "preview"))
        for role_name, subject, purpose in logins:
            ttl = v.deploy_token_ttl if purpose == "deploy" else v.preview_token_ttl
            vault.jwt.AuthBackendRole(
                f"{self._name}-vault-ci-{role_name}",
                backend=backend.path,
                role_name=f"ci-{role_name}",
                role_type="jwt",
                bound_audiences=[v.audience],
                bound_claims_type="string",
                bound_claims={"sub": subject},
                user_claim="sub",
                # Copied into the token's metadata, so Vault's audit log names the workflow run.
                claim_mappings={
                    "repository": "repository",
                    "workflow": "workflow",
                    "run_id": "run_id",
                    "sha": "sha",
                    "actor": "actor",
                },
                token_policies=[created[purpose].name],
                token_ttl=ttl,
                token_max_ttl=ttl,
                opts=self._child(),
            )


def vault_ci_policies(stack_prefix: str) -> dict[str, str]:
    """HCL for the deploy and preview logins: only this stack's prefixed mounts and policies.

    Broad by nature: the program enables mounts, auth methods and an audit device, which Vault
    only allows with `sudo` on `sys/`. Prefix globs keep it to this stack's names.
    """
    p = stack_prefix
    manage = ["create", "read", "update", "delete", "list", "sudo"]
    readonly = ["read", "list"]
    deploy = [
        ("sys/mounts", ["read"]),
        (f"sys/mounts/{p}-*", manage),
        ("sys/auth", ["read"]),
        (f"sys/auth/{p}-*", manage),
        (f"sys/policies/acl/{p}-*", manage),
        ("sys/audit", ["read", "sudo"]),
        (f"sys/audit/{p}-*", manage),
        (f"{p}-*", manage),
        (f"auth/{p}-*", manage),
        # The provider works with a child token of the login token.
        ("auth/token/create", ["update"]),
    ]
    preview = [
        ("sys/mounts", ["read"]),
        (f"sys/mounts/{p}-*", readonly),
        ("sys/auth", ["read"]),
        (f"sys/auth/{p}-*", readonly),
        (f"sys/policies/acl/{p}-*", readonly),
        (f"{p}-*", readonly),
        (f"auth/{p}-*", readonly),
        # Okta signing keys are never readable by a pull request.
        (f"{p}-airflow/data/okta-keys/*", ["deny"]),
        ("auth/token/create", ["update"]),
    ]
    return {"deploy": _hcl(deploy), "preview": _hcl(preview)}


def _hcl(rules: Sequence[tuple[str, Sequence[str]]]) -> str:
    import json

    return "\n".join(
        f"path {json.dumps(path)} {{\n  capabilities = {json.dumps(list(caps))}\n}}\n"
        for path, caps in rules
    )
