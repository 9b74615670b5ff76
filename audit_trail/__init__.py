"""Audit evidence: which DAG run touched which Atlas collection, from the logs that are kept.

`python -m audit_trail` (audit_trail/cli.py) reads Atlas audit logs, CloudTrail and Vault audit
logs with the stack's model from its plan JSON, runs the evidence SQL (audit_trail/sql/) on an
embedded DuckDB and writes the ledger, the findings and a report (docs/auditing.md). Pure
Python: it imports neither Pulumi nor the program's packages.
"""
