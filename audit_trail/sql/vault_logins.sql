-- Every Vault login: the response entry of `auth/<mount>/login` carries the new token's
-- accessor and its metadata. Vault's AWS auth (iam) sets metadata.client_arn to the caller's
-- STS ARN, arn:aws:sts::<account>:assumed-role/<role>/<session name> (Vault source,
-- builtin/credential/aws/path_login.go), which names the STS session behind the login.
SELECT
    from_iso8601_timestamp(time) AS logged_in_at,
    json_extract_string(request, '$.path') AS login_path,
    json_extract_string(response, '$.auth.accessor') AS token_accessor,
    json_extract_string(response, '$.auth.metadata.client_arn') AS client_arn,
    source_file
FROM vault_records
WHERE
    type = 'response'
    AND json_extract_string(response, '$.auth.accessor') IS NOT NULL
    AND regexp_matches(json_extract_string(request, '$.path'), '^auth/.+/login(/.*)?$')
