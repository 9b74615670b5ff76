-- One row per recorded Atlas audit message (MongoDB manual, "mongo Schema Audit Messages":
-- {atype, ts: {$date}, uuid: {$binary, $type}, local, remote, users: [{user, db}],
-- roles: [{role, db}], param, result}). `uuid` identifies the client connection ("Use the UUID
-- to track audit events connected to that client"); messages without one are their own
-- connection. `ts.$date` is ISO 8601 (relaxed Extended JSON) or {"$numberLong": ms} (canonical).
-- Project, cluster and host come from the export's object key:
-- {prefix ending in the project id}/{cluster}/{hostname}/{logType}/... (docs/auditing.md).
WITH located AS (
    SELECT
        *,
        nullif(regexp_extract(source_file, '/([0-9a-f]{24})/[^/]+/[^/]+/', 1), '') AS project,
        nullif(regexp_extract(source_file, '/[0-9a-f]{24}/([^/]+)/[^/]+/', 1), '') AS cluster,
        nullif(regexp_extract(source_file, '/[0-9a-f]{24}/[^/]+/([^/]+)/', 1), '') AS host
    FROM atlas_raw
)
SELECT
    CASE
        WHEN starts_with(ts."$date", '{')
            THEN to_timestamp(
                CAST(json_extract_string(ts."$date", '$."$numberLong"') AS BIGINT) / 1000.0
            )
        ELSE from_iso8601_timestamp(ts."$date")
    END AS ts,
    atype,
    result,
    project,
    cluster,
    coalesce(host, regexp_extract(source_file, '^(.*)/[^/]*$', 1)) AS stream,
    source_file,
    coalesce(host, source_file) || '|' || coalesce(
        uuid."$binary",
        'message:' || ts."$date" || ':' || coalesce(users[1]."user", param."user", '')
    ) AS conn_key,
    coalesce(users[1]."user", param."user") AS user_name,
    coalesce(users[1].db, param.db) AS user_db,
    roles[1].role AS first_role,
    roles[1].db AS first_role_db,
    coalesce(param.ns, param.old) AS ns,
    CASE WHEN atype = 'authCheck' THEN param.command ELSE atype END AS command,
    param.mechanism AS mechanism
FROM located
