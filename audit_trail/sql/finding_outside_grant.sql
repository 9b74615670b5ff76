-- outside-grant: a pipeline's command on a namespace its grants do not name, once per
-- pipeline and namespace. A database-level command (`<db>` or `<db>.$cmd`) is inside when a
-- grant names the database. Connection handshake and session commands carry no data access.
WITH touched AS (
    SELECT
        p.pipeline,
        m.user_name,
        m.ns,
        split_part(m.ns, '.', 1) AS database_name,
        CASE
            WHEN strpos(m.ns, '.') > 0 THEN substr(m.ns, strpos(m.ns, '.') + 1)
        END AS collection_name,
        min(m.ts) AS first_ts,
        count(*) AS messages,
        array_to_string(list(DISTINCT m.command ORDER BY m.command), ', ') AS commands
    FROM atlas_messages AS m
    INNER JOIN connection_pipelines AS p
        ON p.conn_key = m.conn_key AND p.user_name = m.user_name
    WHERE
        p.pipeline IS NOT NULL
        AND m.ns IS NOT NULL
        AND m.command NOT IN (
            'hello', 'isMaster', 'ismaster', 'ping', 'buildInfo', 'buildinfo', 'endSessions',
            'saslStart', 'saslContinue', 'logout', 'authenticate'
        )
    GROUP BY p.pipeline, m.user_name, m.ns
)

SELECT
    'outside-grant' AS kind,
    t.first_ts AS ts,
    t.user_name AS "user",
    t.ns,
    'pipeline ' || t.pipeline || ' ran ' || t.commands || ' on ' || t.ns || ' ('
    || CAST(t.messages AS VARCHAR) || ' message(s)), which its grants do not name' AS detail
FROM touched AS t
WHERE NOT EXISTS (
    SELECT 1
    FROM model_grants AS g
    WHERE
        g.pipeline = t.pipeline
        AND g.database_name = t.database_name
        AND (
            g.collection_name = '*'
            OR t.collection_name IS NULL
            OR t.collection_name = '$cmd'
            OR g.collection_name = t.collection_name
        )
)
