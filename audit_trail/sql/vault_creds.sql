-- Every database user Vault issued, from its file audit device (Vault/OpenBao "Audit
-- devices": one JSON object per request and per response). The response entry of a read of
-- `<mount>/creds/<role>` holds `response.data.username` in clear text when the mount lists
-- `username` in `audit_non_hmac_response_keys` (the password stays HMACed), the lease
-- (`response.secret.lease_id`) and the token that read it (`auth.accessor`, HMACed with the
-- device's salt, so it matches the login response of the same device).
SELECT
    from_iso8601_timestamp(time) AS issued_at,
    json_extract_string(request, '$.path') AS creds_path,
    json_extract_string(response, '$.data.username') AS username,
    json_extract_string(response, '$.secret.lease_id') AS lease_id,
    json_extract_string(auth, '$.accessor') AS token_accessor,
    json_extract_string(auth, '$.metadata.client_arn') AS client_arn,
    source_file
FROM vault_records
WHERE
    type = 'response'
    AND json_extract_string(request, '$.operation') = 'read'
    AND json_extract_string(response, '$.data.username') IS NOT NULL
    AND regexp_matches(json_extract_string(request, '$.path'), '^[^/]+(/[^/]+)*/creds/[^/]+$')
