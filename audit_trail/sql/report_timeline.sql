-- Report: accesses per time bucket (audit_settings.timeline_unit) and pipeline.
SELECT bucket, pipeline, sum(messages) AS messages
FROM access_counts
GROUP BY bucket, pipeline
