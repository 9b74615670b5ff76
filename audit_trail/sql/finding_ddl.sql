-- ddl: every schema change, by anyone: the authorization check of a DDL command, or a DDL
-- audit event (createCollection, dropCollection, dropDatabase, renameCollection,
-- createIndex, dropIndex in "mongo Schema Audit Messages").
SELECT
    'ddl' AS kind,
    ts,
    user_name AS "user",
    ns,
    CASE
        WHEN atype = 'authCheck' THEN 'command ' || command
        ELSE 'event ' || atype
    END || ' by ' || coalesce(user_name, 'an unauthenticated client')
    || CASE WHEN result <> 0 THEN ' (refused)' ELSE '' END AS detail
FROM atlas_messages
WHERE
    (
        atype = 'authCheck'
        AND command IN (
            'drop', 'dropDatabase', 'renameCollection', 'collMod', 'create',
            'createIndexes', 'dropIndexes'
        )
    )
    OR atype IN (
        'createCollection', 'dropCollection', 'dropDatabase', 'renameCollection',
        'createIndex', 'dropIndex'
    )
