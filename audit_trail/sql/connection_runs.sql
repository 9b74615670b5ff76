-- Each pipeline connection's covering DAG runs, once each.
SELECT DISTINCT conn_key, user_name, dag_id, run_id, task_id, session
FROM auth_runs
