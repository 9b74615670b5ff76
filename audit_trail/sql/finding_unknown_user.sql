-- unknown-user: a user the stack's model does not know (not a pipeline identity, not issued by
-- a pipeline's Vault creds path, not allowed by the operator), once per user.
SELECT
    'unknown-user' AS kind,
    min(first_ts) AS ts,
    user_name AS "user",
    CAST(NULL AS VARCHAR) AS ns,
    'user ' || user_name || ' (auth db ' || coalesce(user_db, '?') || ') is not in the '
    || 'stack''s model: ' || CAST(sum(messages) AS VARCHAR) || ' message(s) on '
    || CAST(count(*) AS VARCHAR) || ' connection(s), last at '
    || CAST(max(last_ts) AS VARCHAR) AS detail
FROM connection_pipelines
WHERE
    pipeline IS NULL
    AND user_name NOT IN (SELECT user_name FROM model_allowed_users)
GROUP BY user_name, user_db
