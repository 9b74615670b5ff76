-- Accesses per pipeline, namespace and time bucket (audit_settings.timeline_unit): what the
-- report counts, from one pass over the ledger.
SELECT
    l.pipeline,
    l."authMode" AS auth_mode,
    l.ns,
    date_trunc(cfg.timeline_unit, l.ts) AS bucket,
    count(*) AS messages,
    count(*) FILTER (WHERE array_length(l.runs) = 0) AS unattributed,
    min(l.ts) AS first_ts,
    max(l.ts) AS last_ts
FROM ledger AS l
CROSS JOIN audit_settings AS cfg
GROUP BY l.pipeline, l."authMode", l.ns, date_trunc(cfg.timeline_unit, l.ts)
