-- Every finding, in time order (findings without a time last).
SELECT kind, ts, "user", ns, detail
FROM (
    SELECT * FROM finding_unknown_user
    UNION ALL
    SELECT * FROM finding_denied
    UNION ALL
    SELECT * FROM finding_ddl
    UNION ALL
    SELECT * FROM finding_outside_grant
    UNION ALL
    SELECT * FROM finding_no_session
    UNION ALL
    SELECT * FROM finding_gap
) AS f
