-- One row per client connection and user: where it was, when it was used, how often.
SELECT
    m.conn_key,
    m.user_name,
    m.user_db,
    min(f.project) AS project,
    min(f.cluster) AS cluster,
    min(m.first_role) AS first_role,
    min(m.first_role_db) AS first_role_db,
    min(m.ts) AS first_ts,
    max(m.ts) AS last_ts,
    count(*) AS messages,
    count(*) FILTER (WHERE m.atype = 'authenticate' AND m.result = 0) AS authentications
FROM atlas_messages AS m
INNER JOIN atlas_files AS f ON f.file_id = m.file_id
WHERE m.user_name IS NOT NULL
GROUP BY m.conn_key, m.user_name, m.user_db
