# Sourced by scripts/ci/pulumi-run and scripts/ci/verify-deploy: the job's identities, taken in
# the calling process only and masked in the log before any use.
#
# Masking (GitHub's "Workflow commands for GitHub Actions", "Masking a value in a log"): the runner
# reads `::add-mask::VALUE` from the step's output and replaces VALUE with *** in every line
# printed after it. So `mask` must print to the step's own output, never inside `$(...)` (the
# line would become part of the captured value, and the value would never be masked), and the
# caller's stdout must not be piped into a file (the file would hold every secret).
#
# Inputs (none secret) come from env: ROLE_ARN AWS_REGION SESSION_SECONDS VAULT_ADDR VAULT_ROLE
# VAULT_AUDIENCE VAULT_MOUNT CREDENTIALS_PREFIX, and GitHub's ACTIONS_ID_TOKEN_REQUEST_URL and
# ACTIONS_ID_TOKEN_REQUEST_TOKEN (present when the job grants `id-token: write`).

# mask VALUE: one `::add-mask::` per non-empty line (the runner matches within a line). `%` is
# written as `%25`: the runner unescapes %25, %0D and %0A in a command's data.
mask() {
  local line
  while IFS= read -r line; do
    [ -n "$line" ] && printf '::add-mask::%s\n' "${line//%/%25}"
  done <<<"$1"
  return 0
}

# github_token AUDIENCE VARIABLE: the job's GitHub OIDC token for AUDIENCE, masked, into
# VARIABLE. GitHub's OIDC docs: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<aud> with
# `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` answers {"value": "<jwt>"}; the audience
# is URL-encoded as @actions/core's getIDToken does.
github_token() {
  local audience_query response jwt
  : "${ACTIONS_ID_TOKEN_REQUEST_URL:?the job must grant id-token: write}"
  : "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:?the job must grant id-token: write}"
  audience_query="$(jq -rn --arg audience "$1" '$audience | @uri')"
  response="$(curl -sSf --retry 3 -H "Authorization: bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}" \
    "${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${audience_query}")"
  jwt="$(jq -er .value <<<"$response")"
  mask "$jwt"
  printf -v "$2" '%s' "$jwt"
}

# aws_identity: sts:AssumeRoleWithWebIdentity into ROLE_ARN (session gha-<run id>-<attempt>);
# exports the session's credentials.
aws_identity() {
  : "${ROLE_ARN:?}" "${AWS_REGION:?}"
  local sts_jwt credentials
  # AWS CLI v2 and the SDKs of Go read AWS_REGION; AWS CLI v1 and botocore only this one.
  export AWS_DEFAULT_REGION="$AWS_REGION"
  github_token sts.amazonaws.com sts_jwt
  credentials="$(aws sts assume-role-with-web-identity --role-arn "$ROLE_ARN" \
    --role-session-name "gha-${GITHUB_RUN_ID}-${GITHUB_RUN_ATTEMPT}" \
    --web-identity-token "$sts_jwt" --duration-seconds "${SESSION_SECONDS:-3600}" \
    --query Credentials --output json)"
  AWS_ACCESS_KEY_ID="$(jq -er .AccessKeyId <<<"$credentials")"
  AWS_SECRET_ACCESS_KEY="$(jq -er .SecretAccessKey <<<"$credentials")"
  AWS_SESSION_TOKEN="$(jq -er .SessionToken <<<"$credentials")"
  mask "$AWS_SECRET_ACCESS_KEY"
  mask "$AWS_SESSION_TOKEN"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION
}

# vault_identity: JWT login as VAULT_ROLE at auth/VAULT_MOUNT; exports VAULT_TOKEN and VAULT_ADDR.
vault_identity() {
  : "${VAULT_ADDR:?}" "${VAULT_ROLE:?}" "${VAULT_AUDIENCE:?}"
  local vault_jwt login response
  github_token "$VAULT_AUDIENCE" vault_jwt
  login="$(jq -n --arg role "$VAULT_ROLE" --arg jwt "$vault_jwt" '{role: $role, jwt: $jwt}')"
  # The body goes through stdin: a command line is visible to every process on the runner.
  response="$(curl -sSf --retry 3 --data @- "${VAULT_ADDR}/v1/auth/${VAULT_MOUNT:-github-actions}/login" \
    <<<"$login")"
  VAULT_TOKEN="$(jq -er .auth.client_token <<<"$response")"
  mask "$VAULT_TOKEN"
  export VAULT_TOKEN VAULT_ADDR
}

# provider_credentials: Atlas and Okta provider credentials from Secrets Manager under
# CREDENTIALS_PREFIX (needs aws_identity first); exports the providers' variables.
provider_credentials() {
  : "${CREDENTIALS_PREFIX:?}"
  local atlas okta
  atlas="$(aws secretsmanager get-secret-value --secret-id "${CREDENTIALS_PREFIX}/atlas" \
    --query SecretString --output text)"
  okta="$(aws secretsmanager get-secret-value --secret-id "${CREDENTIALS_PREFIX}/okta" \
    --query SecretString --output text)"
  MONGODB_ATLAS_CLIENT_SECRET="$(jq -er .client_secret <<<"$atlas")"
  OKTA_API_PRIVATE_KEY="$(jq -er .private_key <<<"$okta")"
  mask "$MONGODB_ATLAS_CLIENT_SECRET"
  mask "$OKTA_API_PRIVATE_KEY"
  MONGODB_ATLAS_CLIENT_ID="$(jq -er .client_id <<<"$atlas")"
  OKTA_API_CLIENT_ID="$(jq -er .client_id <<<"$okta")"
  OKTA_API_PRIVATE_KEY_ID="$(jq -er .private_key_id <<<"$okta")"
  OKTA_API_SCOPES="$(jq -er .scopes <<<"$okta")"
  export MONGODB_ATLAS_CLIENT_ID MONGODB_ATLAS_CLIENT_SECRET OKTA_API_CLIENT_ID
  export OKTA_API_PRIVATE_KEY_ID OKTA_API_PRIVATE_KEY OKTA_API_SCOPES
}
