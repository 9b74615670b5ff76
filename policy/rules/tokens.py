"""Pulumi type tokens of the resources the rules look at.

Verified in pulumi-mongodbatlas 4.18.0, pulumi-aws 7.51.1, pulumi-vault 7.14.0 and pulumi-okta
7.0.1 (the `super().__init__('<token>', ...)` of each resource module).
"""

ATLAS_USER = "mongodbatlas:index/databaseUser:DatabaseUser"
ATLAS_CUSTOM_ROLE = "mongodbatlas:index/customDbRole:CustomDbRole"
ATLAS_AUDITING = "mongodbatlas:index/auditing:Auditing"
ATLAS_IDENTITY_PROVIDER = (
    "mongodbatlas:index/federatedSettingsIdentityProvider:FederatedSettingsIdentityProvider"
)
ATLAS_ORG_CONFIG = "mongodbatlas:index/federatedSettingsOrgConfig:FederatedSettingsOrgConfig"
# The org stack's component (components/atlas/org.py): the only parent of the two above.
ORG_FEDERATION_COMPONENT = "airflow-atlas-identity:atlas:AtlasOrgFederation"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
MWAA_ENVIRONMENT = "aws:mwaa/environment:Environment"
VAULT_DB_ROLE = "vault:database/secretBackendRole:SecretBackendRole"
VAULT_DB_MOUNT = "vault:database/secretsMount:SecretsMount"
VAULT_AWS_AUTH_ROLE = "vault:aws/authBackendRole:AuthBackendRole"
VAULT_JWT_AUTH_ROLE = "vault:jwt/authBackendRole:AuthBackendRole"
VAULT_AUDIT = "vault:index/audit:Audit"
VAULT_MOUNT = "vault:index/mount:Mount"
VAULT_AUTH_BACKEND = "vault:index/authBackend:AuthBackend"
VAULT_JWT_AUTH_BACKEND = "vault:jwt/authBackend:AuthBackend"
OKTA_POLICY_RULE = "okta:auth/serverPolicyRule:ServerPolicyRule"
OKTA_OAUTH_APP = "okta:app/oAuth:OAuth"
