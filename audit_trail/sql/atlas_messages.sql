-- One row per recorded Atlas audit message (MongoDB manual, "mongo Schema Audit Messages":
-- {atype, ts: {$date}, uuid: {$binary, $type}, local, remote, users: [{user, db}],
-- roles: [{role, db}], param, result}). `uuid` identifies the client connection ("Use the UUID
-- to track audit events connected to that client"); a message without one is a connection of
-- its own. `ts.$date` is ISO 8601 (relaxed Extended JSON) or {"$numberLong": ms} (canonical).
-- The user is the authenticated one, or for an `authenticate` message the one it names.
SELECT
    CASE
        WHEN starts_with(ts_date, '{')
            THEN to_timestamp(
                CAST(json_extract_string(ts_date, '$."$numberLong"') AS BIGINT) / 1000.0
            )
        ELSE from_iso8601_timestamp(ts_date)
    END AS ts,
    atype,
    result,
    file_id,
    coalesce(
        conn_uuid,
        CAST(file_id AS VARCHAR) || '|' || ts_date || '|' || coalesce(user_name, param_user, '')
    ) AS conn_key,
    coalesce(user_name, param_user) AS user_name,
    coalesce(user_db, param_db) AS user_db,
    role_name AS first_role,
    role_db AS first_role_db,
    coalesce(ns, old_ns) AS ns,
    CASE WHEN atype = 'authCheck' THEN command ELSE atype END AS command,
    mechanism
FROM atlas_raw
