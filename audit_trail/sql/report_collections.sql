-- Report: accesses per namespace, and by which pipelines.
SELECT
    ns,
    count(*) AS messages,
    count(*) FILTER (WHERE pipeline IS NULL) AS by_others,
    array_to_string(list(DISTINCT pipeline ORDER BY pipeline), ', ') AS pipelines
FROM ledger
WHERE ns IS NOT NULL
GROUP BY ns
