-- Report: accesses per namespace, and by which pipelines.
SELECT
    ns,
    sum(messages) AS messages,
    coalesce(sum(messages) FILTER (WHERE pipeline IS NULL), 0) AS by_others,
    array_to_string(list(DISTINCT pipeline ORDER BY pipeline), ', ') AS pipelines
FROM access_counts
WHERE ns IS NOT NULL
GROUP BY ns
