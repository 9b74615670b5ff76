-- Every successful KMS Sign call made with an assumed role's credentials (AWS KMS Developer
-- Guide, "Sign" CloudTrail example: requestParameters {keyId, signingAlgorithm}; userIdentity
-- of an AssumedRole carries the session's arn, accessKeyId and sessionContext.sessionIssuer).
-- An okta-oidc pipeline signs its Okta client assertion this way, as its pipeline role.
SELECT
    from_iso8601_timestamp(eventTime) AS signed_at,
    json_extract_string(userIdentity, '$.arn') AS caller_arn,
    json_extract_string(userIdentity, '$.accessKeyId') AS caller_access_key_id,
    json_extract_string(userIdentity, '$.sessionContext.sessionIssuer.arn') AS issuer_arn,
    json_extract_string(requestParameters, '$.keyId') AS key_id
FROM cloudtrail_records
WHERE
    eventSource = 'kms.amazonaws.com'
    AND eventName = 'Sign'
    AND errorCode IS NULL
    AND json_extract_string(userIdentity, '$.type') = 'AssumedRole'
