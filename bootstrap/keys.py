"""Every config key of a bootstrap stack file: the one place its type, defaults and meaning are.

Rendered into `bootstrap/Pulumi.yaml` and `docs/settings.md` by `python -m infra.settings.generate`
(the same `Key` declarations as the main program's, model/config_keys.py); `bootstrap/settings.py`
reads exactly these keys. `<environment>` in a default stands for the `environment` value.
"""

from __future__ import annotations

from model.config_keys import Key
from model.naming import DEFAULT_NAME_PREFIX, NAME_PREFIX_RULE

KEYS: dict[str, Key] = {
    "githubRepository": Key(
        type="string",
        description="The repository whose workflows may deploy",
        required=True,
        constraints="exactly owner/repo, no wildcard",
        example="acme/airflow-atlas-identity",
    ),
    "githubRepositoryId": Key(
        type="string",
        description="Its numeric id (gh api repos/<owner>/<repo> --jq .id); ids survive renames "
        "and are never reused",
        required=True,
        constraints="digits, quoted",
        example='"812345678"',
    ),
    "githubOwnerId": Key(
        type="string",
        description="The owner's numeric id (gh api repos/<owner>/<repo> --jq .owner.id)",
        required=True,
        constraints="digits, quoted",
        example='"91234567"',
    ),
    "environment": Key(
        type="string",
        description="The main program's stack hosted in this account",
        required=True,
        constraints="letters, digits, '.', '_', '-'",
        example="prod",
    ),
    "githubEnvironments": Key(
        type="array",
        description="GitHub environments allowed to deploy; each must have required reviewers",
        default=["<environment>"],
        constraints="names without wildcards",
        example="[prod, prod-rotation]",
    ),
    "awsAccountId": Key(
        type="string",
        description="The account; the AWS provider refuses any other",
        required=True,
        constraints="12 digits, quoted",
        example='"987654321098"',
    ),
    "awsRegion": Key(
        type="string",
        description="Region of the state bucket, the KMS key and the provider secrets",
        required=True,
        example="eu-west-1",
    ),
    "namePrefix": Key(
        type="string",
        description="As in the main stack (names the workload roles the deployer may manage)",
        default=DEFAULT_NAME_PREFIX,
        constraints=NAME_PREFIX_RULE,
        example=DEFAULT_NAME_PREFIX,
    ),
    "stateBucketName": Key(
        type="string",
        description="The Pulumi state bucket to create",
        required=True,
        constraints="3-63 lowercase letters, digits, '.' or '-'",
        example="acme-aai-pulumi-state-prod",
    ),
    "managedSecretPrefixes": Key(
        type="array",
        description="Secrets Manager prefixes the main stack writes",
        default=["airflow/<environment>/"],
        constraints="no wildcards",
        example="[airflow/prod/]",
    ),
    "mwaaPackageBucket": Key(
        type="string",
        description="The main stack's DAG bucket (mwaaSourceBucketArn) when it creates the MWAA "
        "environment: the deploy role may write the runtime package there, those two keys only",
        unset="the deploy role writes nothing to the DAG bucket (no mwaaCreateEnvironment)",
        constraints="3-63 lowercase letters, digits, '.' or '-'",
        example="acme-mwaa-prod-dags",
    ),
    "providerSecretsPrefix": Key(
        type="string",
        description="Secrets Manager prefix of the CI provider credentials",
        default="ci/airflow-atlas-identity/<environment>",
        example="ci/airflow-atlas-identity/prod",
    ),
    "existingOidcProviderArn": Key(
        type="string",
        description="GitHub's OIDC provider, when the account already has one",
        unset="the bootstrap creates the provider",
        constraints="arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com",
        example="arn:aws:iam::987654321098:oidc-provider/token.actions.githubusercontent.com",
    ),
    "createPreviewRole": Key(
        type="boolean",
        description="Create the role of reviewed pull-request previews (environment "
        "<environment>-preview)",
        default=True,
        example="false",
    ),
    "vaultCiMount": Key(
        type="string",
        description="Vault JWT auth mount of the workflows' logins",
        unset="no Vault login for the workflows",
        constraints="set together with vaultCiAudience",
        example="github-actions",
    ),
    "vaultCiAudience": Key(
        type="string",
        description="Audience of the workflows' Vault login tokens",
        unset="no Vault login for the workflows",
        constraints="set together with vaultCiMount",
        example="https://vault.acme.internal",
    ),
}
