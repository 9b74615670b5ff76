-- One row per client connection and user: where it was, when it was used, how often.
SELECT
    conn_key,
    user_name,
    user_db,
    min(project) AS project,
    min(cluster) AS cluster,
    min(first_role) AS first_role,
    min(first_role_db) AS first_role_db,
    min(ts) AS first_ts,
    max(ts) AS last_ts,
    count(*) AS messages,
    count(*) FILTER (WHERE atype = 'authenticate' AND result = 0) AS authentications
FROM atlas_messages
WHERE user_name IS NOT NULL
GROUP BY conn_key, user_name, user_db
