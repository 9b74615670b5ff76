"""Benchmark: secrets-backend calls of a 50-DAG folder, MWAA's documented defaults vs ours."""
