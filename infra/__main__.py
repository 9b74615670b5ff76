"""Pulumi program: settings -> Wiring -> stack exports. Kept thin on purpose.

One project, two kinds of stack: environments (tier dev/staging/prod: the identity wiring) and
the `org` stack (tier org: the Atlas organization's workload IdPs and federation config,
components/atlas/org.py).
"""

import pulumi
import pulumi_aws as aws
import pulumi_vault as vault

from components.atlas.org import AtlasOrgFederation, AtlasOrgFederationArgs
from components.wiring import Wiring
from infra import settings as stack_settings


def org_stack() -> None:
    org = stack_settings.load_org()
    federation = AtlasOrgFederation(
        "atlas",
        AtlasOrgFederationArgs(
            org_id=org.atlas_org_id,
            federation_settings_id=org.federation_settings_id,
            workload_idps=org.workload_idps,
            other_idp_ids=org.other_idp_ids,
        ),
    )
    if org.pending_stacks:
        pulumi.log.warn(
            f"no workload IdP yet for {', '.join(org.pending_stacks)}: its atlasWorkloadIdps "
            "entry is pending until that stack's first deploy creates its Okta server; then set "
            "issuerUri to its oktaIssuer output (docs/operations.md, 'The org stack')"
        )
        pulumi.export("pendingWorkloadIdps", list(org.pending_stacks))
    pulumi.export("tier", "org")
    # Each environment stack sets its entry as atlasWorkloadIdpId.
    pulumi.export("workloadIdpIds", federation.workload_idp_ids)
    pulumi.export("dataAccessIdpIds", federation.data_access_idp_ids)


def environment_stack() -> None:
    settings = stack_settings.load()
    wiring_args = settings.wiring

    # An explicit provider pinned to the stack's account: a credential for another account fails
    # before anything is changed, instead of wiring the right policy into the wrong account.
    aws_provider = aws.Provider(
        "aws",
        region=wiring_args.aws_region,
        allowed_account_ids=[wiring_args.aws_account_id],
        default_tags=aws.ProviderDefaultTagsArgs(
            tags={"managed-by": "pulumi", "project": settings.project, "stack": settings.stack}
        ),
    )
    providers: list[pulumi.ProviderResource] = [aws_provider]
    if wiring_args.vault is not None:
        # Vault resources go to the stack's `vaultAddress`, the Vault its workers are given,
        # whatever VAULT_ADDR says where `pulumi up` runs (the token still comes from the env).
        providers.append(vault.Provider("vault", address=wiring_args.vault.address))
    wiring = Wiring("identity", wiring_args, opts=pulumi.ResourceOptions(providers=providers))

    pulumi.export("tier", settings.tier.value)
    pulumi.export("executionRoleArn", wiring.execution_role_arn)
    pulumi.export("pipelineRoleArns", wiring.pipeline_role_arns)
    pulumi.export("connectionIds", wiring.connection_ids)
    pulumi.export("connectionSecretArns", wiring.connection_secret_arns)
    pulumi.export("connectionDefinitions", wiring.connection_definitions)
    pulumi.export("airflowConfigurationOptions", wiring.airflow_configuration_options)
    pulumi.export("accessMatrix", wiring.access_matrix)
    if wiring.mwaa_environment_arn is not None:
        pulumi.export("mwaaEnvironmentArn", wiring.mwaa_environment_arn)
    if wiring.mwaa_package is not None:
        pulumi.export("mwaaPackage", wiring.mwaa_package)
    if wiring.okta_issuer is not None:
        pulumi.export("oktaIssuer", wiring.okta_issuer)
        pulumi.export("oktaClientIds", wiring.okta_client_ids)
        pulumi.export("oktaCurrentKeySlots", wiring.okta_current_key_slots)
    if wiring.atlas_workload_idp is not None:
        # The org stack's atlasWorkloadIdps entry for this stack (components/atlas/org.py).
        pulumi.export("atlasWorkloadIdp", wiring.atlas_workload_idp)
    if wiring.vault_policies:
        pulumi.export("vaultPolicies", wiring.vault_policies)


try:
    org_stack() if stack_settings.is_org_stack() else environment_stack()
except stack_settings.SettingsError as error:
    # RunError prints the message without a Python traceback: one line per bad key.
    raise pulumi.RunError(f"invalid stack settings:\n{error}") from None
