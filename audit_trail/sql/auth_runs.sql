-- The DAG runs whose credential session covers each authentication of a pipeline connection.
-- A session's window is widened by the configured clock skew on both sides.
-- aws-iam: an STS session of the pipeline role, valid when the connection authenticated
-- (Atlas checks the credentials once, at authentication). When the audited user names the
-- session (not `*`), that session only.
SELECT
    a.conn_key,
    a.user_name,
    s.dag_id,
    s.run_id,
    s.task_id,
    s.assumed_role_arn AS session
FROM atlas_auth_events AS a
INNER JOIN connection_pipelines AS p
    ON p.conn_key = a.conn_key AND p.user_name = a.user_name
INNER JOIN model_pipelines AS m ON m.pipeline = p.pipeline
CROSS JOIN audit_settings AS cfg
INNER JOIN sts_sessions AS s
    ON
        s.role_arn = m.role_arn
        AND a.auth_ts >= s.starts - cfg.clock_skew_seconds * INTERVAL 1 SECOND
        AND a.auth_ts <= s.ends + cfg.clock_skew_seconds * INTERVAL 1 SECOND
WHERE
    p.auth_mode = 'aws-iam'
    AND (
        s.assumed_role_arn = a.user_name
        OR NOT regexp_matches(a.user_name, '^arn:aws:sts::[0-9]+:assumed-role/[^/]+/[^*/]+$')
    )
UNION ALL
-- okta-oidc: the pipeline role signed an Okta client assertion (KMS Sign) no longer than one
-- access-token lifetime before the authentication; the session is the one whose access key
-- made that call.
SELECT
    a.conn_key,
    a.user_name,
    s.dag_id,
    s.run_id,
    s.task_id,
    s.assumed_role_arn AS session
FROM atlas_auth_events AS a
INNER JOIN connection_pipelines AS p
    ON p.conn_key = a.conn_key AND p.user_name = a.user_name
INNER JOIN model_pipelines AS m ON m.pipeline = p.pipeline
CROSS JOIN audit_settings AS cfg
INNER JOIN kms_signs AS k
    ON
        k.issuer_arn = m.role_arn
        AND a.auth_ts >= k.signed_at - cfg.clock_skew_seconds * INTERVAL 1 SECOND
        AND a.auth_ts
        <= k.signed_at + (m.credential_seconds + cfg.clock_skew_seconds) * INTERVAL 1 SECOND
INNER JOIN sts_sessions AS s
    ON s.access_key_id = k.caller_access_key_id AND s.role_arn = m.role_arn
WHERE p.auth_mode = 'okta-oidc'
UNION ALL
-- vault-dynamic: the lease that created the user, the login whose token read it (same audit
-- device: the HMACed accessor matches), and the STS session that login proved (its
-- client_arn), valid at login time and of the pipeline role.
SELECT
    a.conn_key,
    a.user_name,
    s.dag_id,
    s.run_id,
    s.task_id,
    s.assumed_role_arn AS session
FROM atlas_auth_events AS a
INNER JOIN connection_pipelines AS p
    ON p.conn_key = a.conn_key AND p.user_name = a.user_name
INNER JOIN model_pipelines AS m ON m.pipeline = p.pipeline
CROSS JOIN audit_settings AS cfg
INNER JOIN vault_creds AS c
    ON
        c.username = a.user_name
        AND c.creds_path = m.vault_creds_path
        AND c.issued_at <= a.auth_ts + cfg.clock_skew_seconds * INTERVAL 1 SECOND
LEFT JOIN vault_logins AS l
    ON l.token_accessor = c.token_accessor AND l.source_file = c.source_file
INNER JOIN sts_sessions AS s
    ON
        s.assumed_role_arn = coalesce(l.client_arn, c.client_arn)
        AND s.role_arn = m.role_arn
        AND coalesce(l.logged_in_at, c.issued_at)
        >= s.starts - cfg.clock_skew_seconds * INTERVAL 1 SECOND
        AND coalesce(l.logged_in_at, c.issued_at)
        <= s.ends + cfg.clock_skew_seconds * INTERVAL 1 SECOND
WHERE p.auth_mode = 'vault-dynamic'
