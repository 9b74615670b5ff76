-- One row per recorded Atlas message, with its pipeline and the DAG runs whose credential
-- session covers it.
WITH runs AS (
    SELECT
        conn_key,
        user_name,
        list(
            CAST(
                ROW(dag_id, run_id, task_id, session)
                AS STRUCT(dag_id VARCHAR, run_id VARCHAR, task_id VARCHAR, session VARCHAR)
            )
            ORDER BY session, run_id, task_id
        ) AS runs
    FROM connection_runs
    GROUP BY conn_key, user_name
)

SELECT
    m.ts,
    coalesce(f.project, p.project) AS project,
    coalesce(f.cluster, p.cluster) AS cluster,
    m.user_name AS "user",
    m.user_db AS db,
    m.ns,
    m.command,
    m.result,
    p.pipeline,
    p.auth_mode AS "authMode",
    coalesce(
        r.runs,
        CAST([] AS STRUCT(dag_id VARCHAR, run_id VARCHAR, task_id VARCHAR, session VARCHAR)[])
    ) AS runs
FROM atlas_messages AS m
INNER JOIN atlas_files AS f ON f.file_id = m.file_id
LEFT JOIN connection_pipelines AS p
    ON p.conn_key = m.conn_key AND p.user_name = m.user_name
LEFT JOIN runs AS r
    ON r.conn_key = m.conn_key AND r.user_name = m.user_name
