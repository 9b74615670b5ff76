-- denied: every message with a non-zero result (MongoDB manual, "mongo Schema Audit
-- Messages": authCheck 13 Unauthorized; authenticate 18 Authentication Failed, 334 Mechanism
-- Unavailable, 337 Authentication Abandoned).
SELECT
    'denied' AS kind,
    ts,
    user_name AS "user",
    ns,
    coalesce(command, atype) || ' refused with result ' || CAST(result AS VARCHAR) || ' ('
    || CASE result
        WHEN 13 THEN 'Unauthorized'
        WHEN 18 THEN 'AuthenticationFailed'
        WHEN 26 THEN 'NamespaceNotFound'
        WHEN 276 THEN 'IndexBuildAborted'
        WHEN 334 THEN 'MechanismUnavailable'
        WHEN 337 THEN 'AuthenticationAbandoned'
        ELSE 'error code'
    END || ')' AS detail
FROM atlas_messages
WHERE result <> 0
