-- Report: accesses per pipeline of the model (and by users that are no pipeline).
WITH counted AS (
    SELECT
        pipeline,
        sum(messages) AS messages,
        count(DISTINCT ns) AS namespaces,
        sum(unattributed) AS unattributed,
        min(first_ts) AS first_ts,
        max(last_ts) AS last_ts
    FROM access_counts
    GROUP BY pipeline
),

run_counts AS (
    SELECT p.pipeline, count(DISTINCT r.dag_id || '|' || r.run_id || '|' || r.task_id) AS runs
    FROM connection_runs AS r
    INNER JOIN connection_pipelines AS p
        ON p.conn_key = r.conn_key AND p.user_name = r.user_name
    GROUP BY p.pipeline
)

SELECT
    m.pipeline,
    m.auth_mode,
    coalesce(c.messages, 0) AS messages,
    coalesce(c.namespaces, 0) AS namespaces,
    coalesce(r.runs, 0) AS runs,
    coalesce(c.unattributed, 0) AS unattributed,
    c.first_ts,
    c.last_ts
FROM model_pipelines AS m
LEFT JOIN counted AS c ON c.pipeline = m.pipeline
LEFT JOIN run_counts AS r ON r.pipeline = m.pipeline
UNION ALL
SELECT
    CAST(NULL AS VARCHAR) AS pipeline,
    CAST(NULL AS VARCHAR) AS auth_mode,
    c.messages,
    c.namespaces,
    0 AS runs,
    c.unattributed,
    c.first_ts,
    c.last_ts
FROM counted AS c
WHERE c.pipeline IS NULL
