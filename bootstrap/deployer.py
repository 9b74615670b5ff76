"""The keyless deployer of one environment: GitHub OIDC -> AWS roles, state bucket, secrets key.

One bootstrap stack per AWS account (= per environment of the main program). It creates:
- the GitHub Actions OIDC provider (`token.actions.githubusercontent.com`, audience
  `sts.amazonaws.com`), unless the account already has one;
- the deploy role, assumable only by the reusable `pulumi-up.yml` (and `vault-structure.yml`) on
  main, of exactly this repository id, in exactly the listed GitHub environments (all reviewed);
- the preview role, assumable only by `preview.yml` in the reviewed `<env>-preview` environment;
  it reads and decrypts state and writes nothing;
- the workload permissions boundary every role the program creates must carry;
- the Pulumi state bucket (versioned, encrypted with the key below, public access blocked,
  TLS only) and the KMS key that is the stacks' secrets provider (`awskms://alias/...`);
- empty Secrets Manager secrets for the Atlas and Okta provider credentials that the workflows
  fetch at run time (values are put by a person, never by Pulumi or GitHub);
- optionally, Vault JWT login for GitHub Actions (bootstrap/vault_ci.py).
Who may use what: bootstrap/github.py; what each may do: bootstrap/permissions.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from bootstrap.github import (
    DEPLOY_SESSION_SECONDS,
    GITHUB_OIDC_URL,
    SESSION_SECONDS,
    STS_AUDIENCE,
    DeployerArgs,
    github_trust,
)
from bootstrap.permissions import (
    AccountScope,
    approved_sha_statement,
    guard_statements,
    policy,
    program_statements,
    read_secrets,
    state_statements,
    workload_boundary,
)
from bootstrap.signing_keys import signing_key_statements, state_key_guard
from bootstrap.vault_ci import vault_ci_logins
from model.naming import Naming


class Deployer(pulumi.ComponentResource):
    """Everything a GitHub workflow needs to run Pulumi for one environment without a stored key."""

    oidc_provider_arn: pulumi.Output[str]
    boundary_arn: pulumi.Output[str]
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
        self.boundary_arn = self._workload_boundary()
        self.deploy_role_arn = self._deploy_role(bucket, key, secrets["deploy"])
        self.preview_role_arn = (
            self._preview_role(bucket, key, secrets["preview"])
            if args.create_preview_role
            else None
        )
        if args.vault_ci is not None:
            vault_ci_logins(self, name, args, args.vault_ci)
        self.register_outputs(
            {
                "oidcProviderArn": self.oidc_provider_arn,
                "deployRoleArn": self.deploy_role_arn,
                "workloadBoundaryArn": self.boundary_arn,
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

    @property
    def scope(self) -> AccountScope:
        a = self._args
        return AccountScope(
            account_id=a.account_id,
            region=a.region,
            naming=Naming(prefix=a.name_prefix, stack=a.environment),
            managed_secret_prefixes=a.managed_secret_prefixes,
            mwaa_package_bucket=a.mwaa_package_bucket,
        )

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
                policy(
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

    def _workload_boundary(self) -> pulumi.Output[str]:
        boundary = aws.iam.Policy(
            f"{self._name}-workload-boundary",
            name=self.scope.boundary_name,
            description=f"Ceiling of every role the {self._args.environment} program creates",
            policy=pulumi.Output.json_dumps(workload_boundary(self.scope)),
            tags={**self._args.tags, "purpose": "permissions-boundary"},
            opts=self._child(),
        )
        return boundary.arn

    def _deploy_role(
        self,
        bucket: aws.s3.Bucket,
        key: aws.kms.Key,
        secrets: Sequence[aws.secretsmanager.Secret],
    ) -> pulumi.Output[str]:
        a = self._args
        role = self._role(
            "deploy",
            [a.subject(job) for job in a.deploy_jobs()],
            f"pulumi up of {a.environment} from {a.repository} "
            f"(GitHub environments {', '.join(e.environment for e in a.deploy_jobs())})",
            DEPLOY_SESSION_SECONDS,
        )
        statements = [
            *state_statements(bucket.arn, key.arn, write=True),
            read_secrets("ReadProviderCredentials", [s.arn for s in secrets]),
            *program_statements(self.scope),
            *signing_key_statements(self.scope),
            approved_sha_statement(self.scope, write=True),
            *guard_statements(self.scope),
            state_key_guard(key.arn),
        ]
        aws.iam.RolePolicy(
            f"{self._name}-deploy-policy",
            role=role.id,
            name="deploy",
            policy=pulumi.Output.json_dumps(policy(*statements)),
            opts=self._child(),
        )
        return role.arn

    def _preview_role(
        self,
        bucket: aws.s3.Bucket,
        key: aws.kms.Key,
        secrets: Sequence[aws.secretsmanager.Secret],
    ) -> pulumi.Output[str]:
        a = self._args
        role = self._role(
            "preview",
            [a.subject(a.preview_job())],
            f"pulumi preview of {a.environment} on reviewed pull requests of {a.repository}; "
            "reads state, writes nothing",
            SESSION_SECONDS,
        )
        aws.iam.RolePolicy(
            f"{self._name}-preview-policy",
            role=role.id,
            name="preview",
            policy=pulumi.Output.json_dumps(
                policy(
                    *state_statements(bucket.arn, key.arn, write=False),
                    read_secrets("ReadReadOnlyProviderCredentials", [s.arn for s in secrets]),
                    *guard_statements(self.scope),
                    state_key_guard(key.arn),
                )
            ),
            opts=self._child(),
        )
        return role.arn
