-- Trino functions the evidence SQL calls that DuckDB lacks, as DuckDB macros (local runner only).
-- Trino, "Date and time functions": from_iso8601_timestamp(string) -> timestamp with time zone.
CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ);
