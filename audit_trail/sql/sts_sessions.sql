-- Every STS session taken with AssumeRole, from CloudTrail records (AWS CloudTrail User
-- Guide, "CloudTrail record contents"; IAM User Guide, "Logging IAM and AWS STS API calls
-- with AWS CloudTrail": requestParameters {roleArn, roleSessionName, sourceIdentity, tags:
-- [{key, value}], durationSeconds}, responseElements {credentials {accessKeyId, expiration},
-- assumedRoleUser {arn}}). The documented example writes `expiration` as
-- "Oct 2, 2019, 11:12:29 PM"; ISO 8601 is read too. The session's DAG run comes from its
-- session tags (dag_id, task_id, run_id), which the runtime sets on every AssumeRole.
WITH assumed AS (
    SELECT
        from_iso8601_timestamp(eventTime) AS starts,
        json_extract_string(requestParameters, '$.roleArn') AS role_arn,
        json_extract_string(requestParameters, '$.roleSessionName') AS session_name,
        coalesce(
            json_extract_string(requestParameters, '$.sourceIdentity'),
            json_extract_string(responseElements, '$.sourceIdentity')
        ) AS source_identity,
        CAST(
            json_extract(requestParameters, '$.tags') AS STRUCT("key" VARCHAR, "value" VARCHAR)[]
        ) AS tags,
        CAST(json_extract_string(requestParameters, '$.durationSeconds') AS BIGINT)
            AS duration_seconds,
        json_extract_string(responseElements, '$.credentials.accessKeyId') AS access_key_id,
        json_extract_string(responseElements, '$.credentials.expiration') AS expiration,
        json_extract_string(responseElements, '$.assumedRoleUser.arn') AS assumed_role_arn
    FROM cloudtrail_records
    WHERE
        eventSource = 'sts.amazonaws.com'
        AND eventName = 'AssumeRole'
        AND errorCode IS NULL
)
SELECT
    role_arn,
    session_name,
    assumed_role_arn,
    access_key_id,
    source_identity,
    starts,
    CASE
        WHEN expiration IS NULL
            THEN starts + coalesce(duration_seconds, 3600) * INTERVAL 1 SECOND
        WHEN regexp_matches(expiration, '^[A-Z][a-z]{2} ')
            THEN CAST(strptime(expiration, '%b %-d, %Y, %-I:%M:%S %p') AS TIMESTAMPTZ)
        ELSE from_iso8601_timestamp(expiration)
    END AS ends,
    map_from_entries(tags)['dag_id'] AS dag_id,
    map_from_entries(tags)['task_id'] AS task_id,
    map_from_entries(tags)['run_id'] AS run_id
FROM assumed
WHERE role_arn IS NOT NULL
