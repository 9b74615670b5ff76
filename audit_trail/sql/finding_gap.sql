-- gap: a hole in a log's continuity.
-- Atlas: per host, consecutive export files more than max_gap_seconds apart (Atlas exports
-- logs every 5 minutes: "atlas api pushBasedLogExport").
-- CloudTrail (User Guide, "CloudTrail digest file structure"): hourly digest files chain
-- (digestStartTime of one is the digestEndTime of the one before) and list every log file
-- delivered in their hour; a skipped hour, a listed file that is not there, or no digest at
-- all is a gap.
WITH atlas_ordered AS (
    SELECT
        *,
        max(last_ts) OVER (
            PARTITION BY stream ORDER BY first_ts
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS previous_last
    FROM atlas_files
),

digests AS (
    SELECT
        awsAccountId AS account,
        regexp_extract(digestS3Object, '/CloudTrail-Digest/([^/]+)/', 1) AS region,
        from_iso8601_timestamp(digestStartTime) AS starts,
        from_iso8601_timestamp(digestEndTime) AS ends,
        source_file,
        logFiles
    FROM cloudtrail_digests
),

digest_chain AS (
    SELECT
        *,
        max(ends) OVER (
            PARTITION BY account, region ORDER BY starts
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS previous_end
    FROM digests
),

listed AS (
    SELECT d.starts, d.source_file AS digest_file, u.object_key
    FROM digests AS d,
        unnest(
            list_transform(d.logFiles, lambda f: f.s3Object)
        ) AS u (object_key)
)

SELECT
    'gap' AS kind,
    a.previous_last AS ts,
    CAST(NULL AS VARCHAR) AS "user",
    CAST(NULL AS VARCHAR) AS ns,
    'Atlas audit log of ' || a.stream || ' has no message from '
    || CAST(a.previous_last AS VARCHAR) || ' to ' || CAST(a.first_ts AS VARCHAR)
    || ' (next file ' || a.source_file || ')' AS detail
FROM atlas_ordered AS a
CROSS JOIN audit_settings AS cfg
WHERE a.first_ts - a.previous_last > cfg.max_gap_seconds * INTERVAL 1 SECOND
UNION ALL
SELECT
    'gap' AS kind,
    c.previous_end AS ts,
    CAST(NULL AS VARCHAR) AS "user",
    CAST(NULL AS VARCHAR) AS ns,
    'CloudTrail digests of account ' || c.account || ' in ' || c.region || ' skip from '
    || CAST(c.previous_end AS VARCHAR) || ' to ' || CAST(c.starts AS VARCHAR) AS detail
FROM digest_chain AS c
WHERE c.starts - c.previous_end > INTERVAL 1 SECOND
UNION ALL
SELECT
    'gap' AS kind,
    l.starts AS ts,
    CAST(NULL AS VARCHAR) AS "user",
    CAST(NULL AS VARCHAR) AS ns,
    'CloudTrail log file ' || l.object_key || ' listed in digest ' || l.digest_file
    || ' is missing' AS detail
FROM listed AS l
WHERE NOT EXISTS (
    SELECT 1
    FROM cloudtrail_files AS f
    WHERE
        length(f.source_file) >= length(l.object_key)
        AND substr(f.source_file, length(f.source_file) - length(l.object_key) + 1)
        = l.object_key
)
UNION ALL
SELECT
    'gap' AS kind,
    CAST(NULL AS TIMESTAMPTZ) AS ts,
    CAST(NULL AS VARCHAR) AS "user",
    CAST(NULL AS VARCHAR) AS ns,
    'no CloudTrail digest file was read: the trail''s continuity cannot be shown (read its '
    || 'CloudTrail-Digest/ prefix too)' AS detail
FROM (SELECT count(*) AS n FROM cloudtrail_digests) AS d
WHERE d.n = 0
