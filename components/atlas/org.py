"""The Atlas organization's workload IdPs and federation config, owned by the `org` stack alone.

Two Atlas rules put these here rather than in the environment stacks:
- `dataAccessIdentityProviderIds` is one list per organization: a stack owning it would unlink
  every other stack's IdP on each `up`.
- Creating or updating an identity provider needs Organization Owner ("To use this resource, the
  requesting Service Account or API Key must have the Organization Owner role in one of the
  connected organizations", Atlas Admin API createIdentityProvider,
  https://www.mongodb.com/docs/api/doc/atlas-admin-api-v2/operation/operation-createidentityprovider).
  Environment deployers then need only Project Owner.

Each environment stack exports what its IdP must trust (`atlasWorkloadIdp`: name, issuer,
audience); the org stack's settings carry it (`atlasWorkloadIdps`) rather than a StackReference,
because environments live in their own state backends and a StackReference reads only its own
backend (pulumi/pulumi#3395). The org stack exports each IdP id (`workloadIdpIds`), which the
environment sets as `atlasWorkloadIdpId`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_mongodbatlas as atlas

ORG_CONFIG_TYPE = "mongodbatlas:index/federatedSettingsOrgConfig:FederatedSettingsOrgConfig"
IDENTITY_PROVIDER_TYPE = (
    "mongodbatlas:index/federatedSettingsIdentityProvider:FederatedSettingsIdentityProvider"
)


@dataclass(frozen=True, kw_only=True)
class WorkloadIdpSpec:
    """One environment's workload IdP: Atlas trusts its Okta server's tokens for its audience."""

    stack: str
    name: str
    issuer_uri: str
    audience: str


@dataclass(frozen=True, kw_only=True)
class AtlasOrgFederationArgs:
    org_id: str
    federation_settings_id: str
    workload_idps: tuple[WorkloadIdpSpec, ...]
    other_idp_ids: tuple[str, ...] = ()
    """Data-access IdPs this project does not create (kept linked)."""


class AtlasOrgFederation(pulumi.ComponentResource):
    """Creates every environment's workload IdP and links all of them for data access at once."""

    workload_idp_ids: dict[str, pulumi.Output[str]]
    """Environment stack -> its IdP id (the stack's `atlasWorkloadIdpId`)."""
    data_access_idp_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: AtlasOrgFederationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("airflow-atlas-identity:atlas:AtlasOrgFederation", name, None, opts)
        self.workload_idp_ids = {
            spec.stack: self._workload_idp(name, args.federation_settings_id, spec)
            for spec in args.workload_idps
        }
        self.data_access_idp_ids = pulumi.Output.all(
            *(self.workload_idp_ids[stack] for stack in sorted(self.workload_idp_ids))
        ).apply(lambda ids: [*ids, *args.other_idp_ids])
        atlas.FederatedSettingsOrgConfig(
            f"{name}-org-config",
            federation_settings_id=args.federation_settings_id,
            org_id=args.org_id,
            # Required by the schema but owned by whoever manages the org's human SSO: ignored
            # below, so this stack only ever changes the data-access IdP list.
            domain_restriction_enabled=False,
            data_access_identity_provider_ids=self.data_access_idp_ids,
            opts=pulumi.ResourceOptions(
                parent=self,
                # The org config exists before any stack; it is imported, never created, and a
                # destroyed stack must not take the org's federation settings with it.
                retain_on_delete=True,
                ignore_changes=[
                    "domainRestrictionEnabled",
                    "domainAllowLists",
                    "identityProviderId",
                    "postAuthRoleGrants",
                ],
            ),
        )
        self.register_outputs(
            {"workloadIdpIds": self.workload_idp_ids, "dataAccessIdpIds": self.data_access_idp_ids}
        )

    def _workload_idp(
        self, name: str, federation_settings_id: str, spec: WorkloadIdpSpec
    ) -> pulumi.Output[str]:
        idp = atlas.FederatedSettingsIdentityProvider(
            f"{name}-workload-idp-{spec.stack}",
            federation_settings_id=federation_settings_id,
            name=spec.name,
            description=f"Okta workload tokens for Airflow pipelines ({spec.stack})",
            idp_type="WORKLOAD",
            protocol="OIDC",
            issuer_uri=spec.issuer_uri,
            audience=spec.audience,
            # Users, not groups: each pipeline's user is `<idp id>/<token sub>`, the Okta app's
            # client id (client-credentials tokens carry it as `sub`).
            authorization_type="USER",
            user_claim="sub",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return idp.idp_id
