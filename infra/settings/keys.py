"""Every config key the program reads, with its type (as declared in Pulumi.yaml) and meaning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ConfigType = Literal["string", "integer", "boolean", "array"]


@dataclass(frozen=True, kw_only=True)
class Key:
    """A declared config key: its type in `Pulumi.yaml` and what it means."""

    type: ConfigType
    description: str
    structured: bool = False
    """A list of objects: documented in Pulumi.yaml comments, not declarable in its schema."""


# Every key the program reads. Pulumi.yaml declares the same keys (a test keeps them in step),
# except the structured ones, which its schema cannot type (see the comment there).
KEYS: dict[str, Key] = {
    "tier": Key(type="string", description="dev, staging or prod; prod enforces stricter limits"),
    "namePrefix": Key(type="string", description="Prefix of every physical name (default aai)"),
    "awsAccountId": Key(type="string", description="12-digit AWS account the stack deploys to"),
    "awsRegion": Key(type="string", description="AWS region of MWAA and Secrets Manager"),
    "mwaaEnvironmentName": Key(type="string", description="Name of the MWAA environment"),
    "mwaaSourceBucketArn": Key(type="string", description="ARN of the MWAA DAG bucket"),
    "mwaaCreateEnvironment": Key(
        type="boolean",
        description="true: the program creates the MWAA environment; false: it only exports the "
        "Airflow configuration options for an existing one",
    ),
    "mwaaAirflowVersion": Key(type="string", description="Airflow version of a created MWAA env"),
    "mwaaEnvironmentClass": Key(type="string", description="mw1.micro .. mw1.2xlarge"),
    "mwaaDagS3Path": Key(type="string", description="DAG folder in the bucket (default dags)"),
    "mwaaSubnetIds": Key(type="array", description="Two private subnet ids for a created env"),
    "mwaaSecurityGroupIds": Key(type="array", description="Security groups for a created env"),
    "mwaaWebserverAccessMode": Key(
        type="string", description="PRIVATE_ONLY (default) or PUBLIC_ONLY"
    ),
    "pipelineSessionSeconds": Key(
        type="integer",
        description="Max session duration of pipeline roles, 900..43200 (prod at most 3600)",
    ),
    "deployerRoleArn": Key(
        type="string",
        description="Role that deploys the stack; alone may change its connection definitions "
        "(default: the bootstrap's arn:aws:iam::<account>:role/<prefix>-<stack>-github-deploy)",
    ),
    "secretsKmsKeyArn": Key(
        type="string", description="Customer KMS key for the connection secrets (optional)"
    ),
    "connectionsPrefix": Key(
        type="string", description="Secrets Manager prefix of connections (default airflow/<stack>)"
    ),
    "variablesPrefix": Key(
        type="string", description="Secrets Manager prefix of Variables; unset disables lookups"
    ),
    "configPrefix": Key(
        type="string", description="Secrets Manager prefix of Airflow config; unset disables"
    ),
    "atlasProjectId": Key(type="string", description="24-hex id of the Atlas project"),
    "atlasProjectLimits": Key(
        type="array",
        description="Limits the Atlas project was raised to: {databaseUsers, customRoles} "
        "(default 100 each; components/limits.py)",
        structured=True,
    ),
    "awsIamRoleQuota": Key(
        type="integer",
        description="IAM roles the account may hold (Service Quotas 'Roles per account'; "
        "AWS default 1000)",
    ),
    "atlasClusters": Key(type="array", description="Clusters: [{name, srvHost}]", structured=True),
    "auditAuthorizationSuccess": Key(
        type="boolean",
        description="Record every successful authorization in the Atlas audit log "
        "(costs cluster performance; default true in prod, false elsewhere)",
    ),
    "allowWildcardCollections": Key(
        type="boolean",
        description="Allow grants on '*' (every collection); default false in prod",
    ),
    "protectStatefulResources": Key(
        type="boolean",
        description="Mark auditing and the MWAA environment `protect`; default true in prod",
    ),
    "oktaAudience": Key(
        type="string",
        description="Audience of the Okta authorization server and the Atlas workload IdP "
        "(default api://<prefix>-<stack>-atlas)",
    ),
    "oktaScope": Key(type="string", description="Scope pipelines request (default mongodb.access)"),
    "oktaTokenLifetimeMinutes": Key(
        type="integer",
        description="Access-token lifetime, 5..1440 (prod: ≤ oktaProdMaxTokenLifetimeMinutes)",
    ),
    "oktaProdMaxTokenLifetimeMinutes": Key(
        type="integer", description="Cap on the token lifetime in prod (default 15)"
    ),
    "oktaKeyRotationHours": Key(
        type="integer", description="Rotate each pipeline's signing key this often (default 24)"
    ),
    "atlasOrgId": Key(type="string", description="Atlas organization (okta-oidc pipelines)"),
    "atlasFederationSettingsId": Key(
        type="string", description="Atlas federation settings of that org (okta-oidc pipelines)"
    ),
    "atlasOrgConfigImported": Key(
        type="boolean",
        description="The org's federation config has been imported (see README); only then the "
        "stack links its workload IdP to the org",
    ),
    "atlasOtherDataAccessIdpIds": Key(
        type="array",
        description="Workload IdPs of other stacks in the same org, kept in the org config",
    ),
    "secretsBackend": Key(
        type="string",
        description="Where Airflow reads connection definitions: secrets-manager or vault",
    ),
    "vaultAddress": Key(type="string", description="https URL of Vault as workers reach it"),
    "vaultIamServerIdHeaderValue": Key(
        type="string",
        description="X-Vault-AWS-IAM-Server-ID value logins must sign (default: Vault's host name)",
    ),
    "vaultAudit": Key(
        type="array",
        description="Audit devices [{type: file|socket|syslog, options}] (one object: one "
        "device); required when Vault is used, prod needs two",
        structured=True,
    ),
    "vaultDefaultTtlSeconds": Key(
        type="integer", description="Default TTL of Vault-issued Atlas users (prod default 900)"
    ),
    "vaultMaxTtlSeconds": Key(
        type="integer", description="Max TTL of Vault-issued Atlas users (prod default 3600)"
    ),
    "vaultTtlCeilingSeconds": Key(
        type="integer", description="Upper bound for vaultMaxTtlSeconds (prod 3600, else 86400)"
    ),
    "atlasVaultApiKeyAccessList": Key(
        type="array",
        description="Vault egress IPs/CIDRs: the only places Vault's Atlas API key works from",
    ),
    "atlasApiKeyRotationDays": Key(
        type="integer", description="Replace Vault's Atlas API key this often (default 30)"
    ),
    "pipelines": Key(
        type="array",
        description="Pipelines: [{name, authMode, cluster, defaultDatabase, concurrentLeases, "
        "grants: [{database, collections, access | actions}]}]",
        structured=True,
    ),
}
