-- no-session: a pipeline's access with no covering credential session (aws-iam: no STS
-- session of its role; okta-oidc: no KMS Sign by its role within a token lifetime;
-- vault-dynamic: no lease, login and session chain), once per user and namespace.
WITH unattributed AS (
    SELECT p.conn_key, p.user_name, p.pipeline, p.auth_mode, p.vault_issued
    FROM connection_pipelines AS p
    WHERE
        p.pipeline IS NOT NULL
        AND NOT EXISTS (
            SELECT 1
            FROM connection_runs AS r
            WHERE r.conn_key = p.conn_key AND r.user_name = p.user_name
        )
)

SELECT
    'no-session' AS kind,
    min(m.ts) AS ts,
    u.user_name AS "user",
    m.ns,
    'pipeline ' || u.pipeline || ' (' || u.auth_mode || '): ' || CAST(count(*) AS VARCHAR)
    || ' message(s) with no covering '
    || CASE u.auth_mode
        WHEN 'aws-iam' THEN 'STS session of its role'
        WHEN 'okta-oidc' THEN 'KMS Sign by a session of its role within a token lifetime'
        ELSE CASE
            WHEN bool_or(u.vault_issued) THEN 'Vault login and STS session behind its lease'
            ELSE 'Vault lease'
        END
    END AS detail
FROM unattributed AS u
INNER JOIN atlas_messages AS m
    ON m.conn_key = u.conn_key AND m.user_name = u.user_name
GROUP BY u.pipeline, u.auth_mode, u.user_name, m.ns
