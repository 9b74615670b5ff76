"""The Atlas organization's federation config, owned by the `org` stack alone.

`dataAccessIdentityProviderIds` is one list per organization. Environment stacks create their
workload IdP and export its id (`atlasWorkloadIdpId`); this component reads those exports through
`pulumi.StackReference` and links all of them at once, so deploying one environment can never
unlink another's IdP.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_mongodbatlas as atlas

ORG_CONFIG_TYPE = "mongodbatlas:index/federatedSettingsOrgConfig:FederatedSettingsOrgConfig"
WORKLOAD_IDP_OUTPUT = "atlasWorkloadIdpId"


@dataclass(frozen=True, kw_only=True)
class AtlasOrgFederationArgs:
    org_id: str
    federation_settings_id: str
    idp_stacks: tuple[str, ...]
    """Stack references exporting `atlasWorkloadIdpId`."""
    other_idp_ids: tuple[str, ...] = ()
    """Data-access IdPs no stack exports (kept linked)."""


def _reference_name(stack: str) -> str:
    return stack.replace("/", "-")


class AtlasOrgFederation(pulumi.ComponentResource):
    """Links every environment's workload IdP to the Atlas organization for data access."""

    data_access_idp_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: AtlasOrgFederationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("airflow-atlas-identity:atlas:AtlasOrgFederation", name, None, opts)
        exported = [
            pulumi.StackReference(
                f"{name}-{_reference_name(stack)}",
                stack_name=stack,
                opts=pulumi.ResourceOptions(parent=self),
            ).get_output(WORKLOAD_IDP_OUTPUT)
            for stack in args.idp_stacks
        ]
        # A stack without okta-oidc pipelines exports no IdP: nothing of it to link.
        self.data_access_idp_ids = pulumi.Output.all(*exported).apply(
            lambda ids: [str(i) for i in ids if i] + list(args.other_idp_ids)
        )
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
        self.register_outputs({"dataAccessIdpIds": self.data_access_idp_ids})
