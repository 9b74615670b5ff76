-- One row per Atlas audit log file: where it comes from and the time it spans. The export's
-- object key is {prefix ending in the project id}/{cluster}/{hostname}/{logType}/...
-- (docs/auditing.md); a file elsewhere belongs to the stream of its directory.
WITH spans AS (
    SELECT
        m.file_id,
        min(f.source_file) AS source_file,
        min(m.ts) AS first_ts,
        max(m.ts) AS last_ts,
        count(*) AS messages
    FROM atlas_messages AS m
    INNER JOIN atlas_raw_files AS f ON f.file_id = m.file_id
    GROUP BY m.file_id
),

located AS (
    SELECT
        *,
        nullif(regexp_extract(source_file, '/([0-9a-f]{24})/[^/]+/[^/]+/', 1), '') AS project,
        nullif(regexp_extract(source_file, '/[0-9a-f]{24}/([^/]+)/[^/]+/', 1), '') AS cluster,
        nullif(regexp_extract(source_file, '/[0-9a-f]{24}/[^/]+/([^/]+)/', 1), '') AS host
    FROM spans
)

SELECT
    file_id,
    source_file,
    project,
    cluster,
    coalesce(
        project || '/' || cluster || '/' || host, regexp_extract(source_file, '^(.*)/[^/]*$', 1)
    ) AS stream,
    first_ts,
    last_ts,
    messages
FROM located
