-- Which pipeline each connection's user is, if any:
-- - aws-iam: the user is the pipeline role. MONGODB-AWS authenticates the caller's STS ARN
--   simplified to arn:aws:sts::<account>:assumed-role/<role>/* (MongoDB server,
--   getSimplifiedARN in its MONGODB-AWS server protocol); the Atlas user is the role ARN.
-- - okta-oidc: the user is <workload IdP id>/<client id>, as the model declares it.
-- - vault-dynamic: the user is one Vault issued by reading the pipeline's creds path, or,
--   when no Vault audit entry issued it, a `v-` user on `admin` holding the pipeline's custom
--   role (it is the pipeline's, but nothing shows which lease created it).
-- A user must belong to the project whose log recorded it (Atlas users are per project).
WITH identified AS (
    SELECT
        c.*,
        CASE
            WHEN regexp_matches(c.user_name, '^arn:aws:sts::[0-9]+:assumed-role/[^/]+/')
                THEN
                    'arn:aws:iam::'
                    || regexp_extract(c.user_name, '^arn:aws:sts::([0-9]+):', 1)
                    || ':role/'
                    || regexp_extract(c.user_name, ':assumed-role/([^/]+)/', 1)
            ELSE c.user_name
        END AS identity
    FROM atlas_connections AS c
),

issued AS (
    SELECT username, min(creds_path) AS creds_path
    FROM vault_creds
    GROUP BY username
)

SELECT
    i.conn_key,
    i.user_name,
    i.user_db,
    i.first_ts,
    i.last_ts,
    i.messages,
    coalesce(i.project, direct.project_id, vault.project_id, by_role.project_id) AS project,
    coalesce(i.cluster, direct.cluster, vault.cluster, by_role.cluster) AS cluster,
    coalesce(direct.pipeline, vault.pipeline, by_role.pipeline) AS pipeline,
    coalesce(direct.auth_mode, vault.auth_mode, by_role.auth_mode) AS auth_mode,
    v.creds_path IS NOT NULL AS vault_issued
FROM identified AS i
LEFT JOIN model_pipelines AS direct
    ON
        direct.atlas_user = i.identity
        AND direct.atlas_db = i.user_db
        AND (i.project IS NULL OR direct.project_id = i.project)
LEFT JOIN issued AS v
    ON v.username = i.user_name AND i.user_db = 'admin'
LEFT JOIN model_pipelines AS vault
    ON
        vault.vault_creds_path = v.creds_path
        AND (i.project IS NULL OR vault.project_id = i.project)
LEFT JOIN model_pipelines AS by_role
    ON
        v.creds_path IS NULL
        AND i.user_db = 'admin'
        AND starts_with(i.user_name, 'v-')
        AND by_role.auth_mode = 'vault-dynamic'
        AND by_role.custom_role = i.first_role
        AND i.first_role_db = 'admin'
        AND (i.project IS NULL OR by_role.project_id = i.project)
