-- Report: accesses per time bucket (audit_settings.timeline_unit) and pipeline.
SELECT
    date_trunc(cfg.timeline_unit, l.ts) AS bucket,
    l.pipeline,
    count(*) AS messages
FROM ledger AS l
CROSS JOIN audit_settings AS cfg
GROUP BY date_trunc(cfg.timeline_unit, l.ts), l.pipeline
