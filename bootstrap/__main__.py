"""Bootstrap program: settings -> Deployer -> the values the workflows need as GitHub variables."""

import pulumi
import pulumi_aws as aws

from bootstrap import settings as bootstrap_settings
from bootstrap.deployer import Deployer

try:
    settings = bootstrap_settings.load()
except bootstrap_settings.SettingsError as error:
    raise pulumi.RunError(f"invalid bootstrap settings:\n{error}") from None
args = settings.deployer

provider = aws.Provider(
    "aws",
    region=args.region,
    allowed_account_ids=[args.account_id],
    default_tags=aws.ProviderDefaultTagsArgs(tags=dict(args.tags)),
)
deployer = Deployer("deployer", args, opts=pulumi.ResourceOptions(providers=[provider]))

pulumi.export("deployRoleArn", deployer.deploy_role_arn)
if deployer.preview_role_arn is not None:
    pulumi.export("previewRoleArn", deployer.preview_role_arn)
pulumi.export("oidcProviderArn", deployer.oidc_provider_arn)
# The boundary every role of the main program must carry; the SSM parameter of the approved commit.
pulumi.export("workloadBoundaryArn", deployer.boundary_arn)
pulumi.export("approvedShaParameter", deployer.scope.approved_sha_parameter)
pulumi.export("stateBucket", deployer.state_bucket)
pulumi.export(
    "pulumiBackendUrl",
    pulumi.Output.format("s3://{0}?region={1}", deployer.state_bucket, args.region),
)
pulumi.export(
    "secretsProvider",
    pulumi.Output.format("awskms://{0}?region={1}", deployer.secrets_key_alias, args.region),
)
pulumi.export("providerSecretNames", deployer.provider_secret_names)
