"""Every config key of the stack file: the one place its type, defaults and meaning are written.

`python -m infra.settings.generate` renders this table into `Pulumi.yaml` (typed declarations of
the keys every stack sets, the rest listed in its comment block) and `docs/settings.md`;
`tests/docs/test_settings_docs.py` fails when either drifts, and checks every documented default
and example against what `infra.settings.parse` actually does. Adding a key: one entry here, its
read in the module that validates it, then the generate command (CONTRIBUTING.md, change map).
"""

from __future__ import annotations

from infra.settings.mwaa import PACKAGED_VERSIONS
from infra.settings.vault import AUDIT_TYPES, SECRETS_BACKENDS
from model.access import PIPELINE_NAME_MAX, PRESETS, Tier
from model.config_keys import Key
from model.limits.values import MWAA_ENVIRONMENT_CLASSES
from model.naming import DEFAULT_NAME_PREFIX, NAME_PREFIX_RULE

_ONLY_MWAA = "only with mwaaCreateEnvironment: true"
_ONLY_OKTA = "only when a pipeline uses okta-oidc"
_ONLY_VAULT = "only when Vault is used (a vault-dynamic pipeline or secretsBackend: vault)"
_ONLY_VAULT_DYNAMIC = "only when a pipeline uses vault-dynamic"
_SECRETS_PREFIX = "letters, digits and / _ + = . @ -, at most 200 characters"

KEYS: dict[str, Key] = {
    "tier": Key(
        type="string",
        description="How strict the stack is; prod turns on the stricter defaults and limits",
        required=True,
        constraints=f"one of {', '.join(t.value for t in Tier)}",
        example="prod",
    ),
    "namePrefix": Key(
        type="string",
        description="Prefix of every physical name (roles, mounts, Okta server)",
        default=DEFAULT_NAME_PREFIX,
        constraints=NAME_PREFIX_RULE,
        example=DEFAULT_NAME_PREFIX,
    ),
    "awsAccountId": Key(
        type="string",
        description="AWS account the stack deploys to; the AWS provider refuses any other",
        required=True,
        constraints="12 digits, quoted",
        example='"210987654321"',
    ),
    "awsRegion": Key(
        type="string",
        description="AWS region of MWAA and Secrets Manager",
        required=True,
        example="eu-west-1",
    ),
    "mwaaEnvironmentName": Key(
        type="string",
        description="Name of the MWAA environment (used in the execution role's trust conditions)",
        required=True,
        constraints="letters, digits, '-' or '_', starting with a letter, at most 80",
        example="analytics-dev",
    ),
    "mwaaSourceBucketArn": Key(
        type="string",
        description="ARN of the MWAA DAG bucket, the only bucket the execution role may read",
        required=True,
        example="arn:aws:s3:::acme-mwaa-dev-dags",
    ),
    "mwaaCreateEnvironment": Key(
        type="boolean",
        description="true creates the MWAA environment; false only exports its Airflow options",
        default=False,
        example="true",
    ),
    "mwaaAirflowVersion": Key(
        type="string",
        description="Airflow version of the MWAA environment; the runtime package is built for "
        "it (created environment: uploaded; otherwise the stack exports mwaaPackage)",
        unset="required with mwaaCreateEnvironment: true; otherwise no mwaaPackage export",
        constraints=f"one of {', '.join(PACKAGED_VERSIONS)} (MWAA's versions whose constraints "
        "requirements/ keeps)",
        example="3.0.6",
    ),
    "mwaaEnvironmentClass": Key(
        type="string",
        description="Size of the created MWAA environment",
        default="mw1.small",
        constraints=f"{_ONLY_MWAA}; one of {', '.join(MWAA_ENVIRONMENT_CLASSES)}",
        example="mw1.medium",
    ),
    "mwaaDagS3Path": Key(
        type="string",
        description="DAG folder in the bucket",
        default="dags",
        constraints=_ONLY_MWAA,
        example="dags",
    ),
    "mwaaSubnetIds": Key(
        type="array",
        description="Private subnets of the created MWAA environment",
        unset=f"required {_ONLY_MWAA}",
        constraints=f"{_ONLY_MWAA}; exactly 2",
        example="[subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]",
    ),
    "mwaaSecurityGroupIds": Key(
        type="array",
        description="Security groups of the created MWAA environment",
        unset=f"required {_ONLY_MWAA}",
        constraints=_ONLY_MWAA,
        example="[sg-0123456789abcdef0]",
    ),
    "mwaaWebserverAccessMode": Key(
        type="string",
        description="Who reaches the Airflow UI of the created environment",
        default="PRIVATE_ONLY",
        constraints=f"{_ONLY_MWAA}; PRIVATE_ONLY or PUBLIC_ONLY",
        example="PRIVATE_ONLY",
    ),
    "pipelineSessionSeconds": Key(
        type="integer",
        description="Session of a pipeline role; assuming it from the execution role's session "
        "is role chaining, which STS caps at 1 hour (docs/limits.md)",
        default=3600,
        constraints="900..3600",
        example="900",
    ),
    "deployerRoleArn": Key(
        type="string",
        description="Role that deploys the stack (the bootstrap's deploy role); alone may change "
        "its connection definitions",
        default="arn:aws:iam::<account>:role/<prefix>-<stack>-github-deploy",
        constraints="an IAM role ARN in awsAccountId",
        example="arn:aws:iam::987654321098:role/aai-dev-github-deploy",
    ),
    "workloadBoundaryArn": Key(
        type="string",
        description="Permissions boundary of every role the program creates (the bootstrap's "
        "workload boundary; its deploy role may only create roles that carry it)",
        default="arn:aws:iam::<account>:policy/<prefix>-<stack>-workload-boundary",
        constraints="an IAM managed-policy ARN in awsAccountId",
        example="arn:aws:iam::987654321098:policy/aai-dev-workload-boundary",
    ),
    "secretsKmsKeyArn": Key(
        type="string",
        description="Customer KMS key of the connection secrets",
        unset="the AWS-managed key of Secrets Manager",
        constraints="a key ARN",
        example="arn:aws:kms:eu-west-1:987654321098:key/4f1c2a3b-5d6e-4f70-8a9b-0c1d2e3f4a5b",
    ),
    "connectionsPrefix": Key(
        type="string",
        description="Secrets Manager prefix of the connection definitions",
        default="airflow/<stack>/connections",
        constraints=_SECRETS_PREFIX,
        example="airflow/dev/connections",
    ),
    "variablesPrefix": Key(
        type="string",
        description="Secrets Manager prefix of Airflow Variables",
        unset="Variable lookups off (no Variable reaches the backend)",
        constraints=_SECRETS_PREFIX,
        example="airflow/dev/variables",
    ),
    "configPrefix": Key(
        type="string",
        description="Secrets Manager prefix of Airflow config values",
        unset="config lookups off",
        constraints=_SECRETS_PREFIX,
        example="airflow/dev/config",
    ),
    "atlasProjectId": Key(
        type="string",
        description="The stack's home Atlas project (atlasClusters[].projectId defaults to it); "
        "a project belongs to one stack, since auditing is a project setting and a second stack "
        "would overwrite the first one's audit filter, but a stack may use several projects",
        required=True,
        constraints="24 hex characters",
        example="64b7f0c2a1d3e4f5a6b7c8d9",
    ),
    "atlasProjectLimits": Key(
        type="object",
        description="The limits Atlas projects were raised to (Admin API setProjectLimit), per "
        "project id",
        structured=True,
        unset="Atlas' defaults: 100 database users, 100 custom roles per project",
        constraints="{<projectId>: {databaseUsers 100..900, customRoles 100..1400}}; projects of "
        "atlasClusters (docs/limits.md)",
        example="{64b7f0c2a1d3e4f5a6b7c8d9: {databaseUsers: 300, customRoles: 1400}}",
    ),
    "awsIamRoleQuota": Key(
        type="integer",
        description="IAM roles the account may hold (Service Quotas 'Roles per account'), "
        "shared with everything else in the account",
        default=1000,
        constraints="1..1000000",
        example="2000",
    ),
    "atlasClusters": Key(
        type="array",
        description="The Atlas clusters pipelines use, each in a project (projectId, default "
        "atlasProjectId)",
        structured=True,
        required=True,
        constraints="at least one; name: letters, digits, '-'; srvHost: <name>.<id>.mongodb.net; "
        "projectId: 24 hex characters",
        example="- name: core-dev\n  srvHost: core-dev.x7k2p.mongodb.net",
    ),
    "auditAuthorizationSuccess": Key(
        type="boolean",
        description="Record every successful authorization in the Atlas audit log; only tier "
        "dev may turn it off (docs/auditing.md says what is recorded then)",
        default=True,
        constraints="true outside tier dev",
        example="true",
    ),
    "allowWildcardCollections": Key(
        type="boolean",
        description="Allow grants on '*' (every collection of a database)",
        default=True,
        prod_default=False,
        example="false",
    ),
    "protectStatefulResources": Key(
        type="boolean",
        description="Mark auditing and the MWAA environment `protect`",
        default=False,
        prod_default=True,
        example="true",
    ),
    "oktaAudience": Key(
        type="string",
        description="Audience of the Okta authorization server and the Atlas workload IdP",
        default="api://<prefix>-<stack>-atlas",
        constraints=f"{_ONLY_OKTA}; no spaces",
        example="api://aai-dev-atlas",
    ),
    "oktaScope": Key(
        type="string",
        description="Scope pipelines request",
        default="mongodb.access",
        constraints=f"{_ONLY_OKTA}; letters, digits and . _ : / -",
        example="mongodb.access",
    ),
    "oktaTokenLifetimeMinutes": Key(
        type="integer",
        description="Lifetime of a pipeline's Okta access token",
        default=60,
        prod_default=15,
        constraints=f"{_ONLY_OKTA}; 5..1440, prod at most oktaProdMaxTokenLifetimeMinutes",
        example="10",
    ),
    "oktaProdMaxTokenLifetimeMinutes": Key(
        type="integer",
        description="Cap on the token lifetime in prod (prod's default lifetime too)",
        default=15,
        constraints=f"{_ONLY_OKTA}; 5..1440",
        example="15",
    ),
    "oktaKeyRotationHours": Key(
        type="integer",
        description="Rotate each okta-oidc pipeline's signing key this often",
        default=24,
        constraints=f"{_ONLY_OKTA}; 1..8760",
        example="24",
    ),
    "atlasOrgId": Key(
        type="string",
        description="Atlas organization of Vault's API key; in the org stack, the organization",
        unset="required with vault-dynamic pipelines and in the org stack",
        constraints="only with vault-dynamic pipelines or in the org stack; 24 hex characters",
        example="5f0e1d2c3b4a596877665544",
    ),
    "atlasWorkloadIdpId": Key(
        type="string",
        description="The Atlas workload IdP the org stack created for this stack (its "
        "workloadIdpIds.<stack> output); okta-oidc pipelines get their Atlas user once it is set",
        unset="okta-oidc pipelines get no Atlas user yet (the plan warns)",
        constraints=f"{_ONLY_OKTA}; 24 hex characters",
        example="6c1d2e3f40516273849a5b6c",
    ),
    "atlasFederationSettingsId": Key(
        type="string",
        description="org stack only: the Atlas federation settings of the organization",
        unset="required in the org stack",
        constraints="org stack only; 24 hex characters",
        example="6a1b2c3d4e5f60718293a4b5",
    ),
    "atlasWorkloadIdps": Key(
        type="array",
        description="org stack only: one workload IdP per environment stack with okta-oidc "
        "pipelines, each that stack's atlasWorkloadIdp output (stack, name, issuerUri, audience)",
        structured=True,
        default=[],
        constraints="org stack only; stack and name unique; name 1..50 characters; issuerUri "
        "https, or pending before the stack's first deploy (no IdP is created for it yet)",
        example="- stack: prod\n  name: aai-prod-okta-workloads\n"
        "  issuerUri: https://acme.okta.com/oauth2/aus1prd4m8rt2vb6j9p3\n"
        "  audience: api://aai-prod-atlas",
    ),
    "atlasOtherDataAccessIdpIds": Key(
        type="array",
        description="org stack only: data-access IdPs this project does not create that must "
        "stay linked",
        default=[],
        constraints="org stack only; 24 hex characters each",
        example="[62a1b2c3d4e5f60718293a4b]",
    ),
    "secretsBackend": Key(
        type="string",
        description="Where Airflow reads connection definitions",
        default="secrets-manager",
        constraints=f"one of {', '.join(SECRETS_BACKENDS)}",
        example="vault",
    ),
    "vaultAddress": Key(
        type="string",
        description="https URL of Vault as the workers reach it; the Vault provider deploys "
        "there too",
        unset="required when Vault is used",
        constraints=f"{_ONLY_VAULT}; https://host[:port]",
        example="https://vault.dev.acme.internal:8200",
    ),
    "vaultIamServerIdHeaderValue": Key(
        type="string",
        description="X-Vault-AWS-IAM-Server-ID value pipeline logins must sign (replay protection)",
        unset="the host name of vaultAddress",
        constraints=f"{_ONLY_VAULT}; a host name",
        example="vault.dev.acme.internal",
    ),
    "vaultAudit": Key(
        type="array",
        description="Vault's audit devices, each {type, options} (a single object counts as one "
        "device); Vault blocks requests when no device can log, so prod needs two",
        structured=True,
        unset="required when Vault is used",
        constraints=f"{_ONLY_VAULT}; type one of {', '.join(AUDIT_TYPES)}, each type once; "
        "options: strings; file needs file_path, socket needs address; never log_raw true or "
        "hmac_accessor false; prod at least two",
        example="- type: file\n  options:\n    file_path: /vault/audit/audit.log\n"
        "- type: socket\n  options:\n    address: audit.acme.internal:9090",
    ),
    "vaultDefaultTtlSeconds": Key(
        type="integer",
        description="Default TTL of Vault-issued Atlas users",
        default=3600,
        prod_default=900,
        constraints=f"{_ONLY_VAULT}; 60..2678400, at most vaultMaxTtlSeconds",
        example="900",
    ),
    "vaultMaxTtlSeconds": Key(
        type="integer",
        description="Max TTL of Vault-issued Atlas users",
        default=14400,
        prod_default=3600,
        constraints=f"{_ONLY_VAULT}; 60..2678400, at most vaultTtlCeilingSeconds",
        example="3600",
    ),
    "vaultTtlCeilingSeconds": Key(
        type="integer",
        description="Upper bound for vaultMaxTtlSeconds",
        default=86400,
        prod_default=3600,
        constraints=f"{_ONLY_VAULT}; 60..2678400",
        example="3600",
    ),
    "atlasVaultApiKeyAccessList": Key(
        type="array",
        description="Vault's egress IPs/CIDRs: the only places Vault's Atlas API key works from",
        unset="required with vault-dynamic pipelines",
        constraints=f"{_ONLY_VAULT_DYNAMIC}; IPs or CIDRs, never 0.0.0.0/0",
        example="[10.40.12.10, 10.40.12.11]",
    ),
    "atlasApiKeyRotationDays": Key(
        type="integer",
        description="Replace Vault's Atlas API key this often",
        default=30,
        constraints=f"{_ONLY_VAULT_DYNAMIC}; 1..90",
        example="30",
    ),
    "pipelines": Key(
        type="array",
        description="The pipelines, each with its own identity and grants",
        structured=True,
        required=True,
        constraints=f"at least one; name: [a-z][a-z0-9_-]*, at most {PIPELINE_NAME_MAX} "
        "characters, unique after '-' -> '_'; authMode: aws-iam, okta-oidc or vault-dynamic; "
        "presets: "
        + "; ".join(f"{name} = {', '.join(actions)}" for name, actions in PRESETS.items())
        + "; a grant names one database, never '*' (in any tier), admin, local or config",
        example="""\
- name: orders-ingest          # the connection id is mongo_orders_ingest
  authMode: aws-iam            # or okta-oidc, vault-dynamic
  cluster: core-dev            # optional when there is exactly one cluster
  defaultDatabase: sales       # optional: the first grant's database
  description: Loads orders    # optional
  grants:
    - database: sales
      collections: [orders, order_items]   # or ['*'] (see allowWildcardCollections)
      access: read-write                   # a preset, or explicit actions:
    - database: analytics
      collections: [daily_revenue]
      actions: [FIND, INSERT, UPDATE]
- name: partner-feed
  authMode: okta-oidc
  grants:
    - {database: partners, collections: [feed_cursors], access: read-write}
- name: finance-reconcile
  authMode: vault-dynamic
  concurrentLeases: 2          # vault-dynamic only: Vault users alive at once (default 2)
  grants:
    - {database: finance, collections: [ledger], access: read}""",
    ),
}
