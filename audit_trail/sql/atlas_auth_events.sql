-- When each connection's user proved its identity: every successful `authenticate` message
-- (a connection re-authenticates, e.g. MONGODB-OIDC when its token expires), or, for a
-- connection whose authentication precedes the logs read, its first message.
SELECT conn_key, user_name, ts AS auth_ts
FROM atlas_messages
WHERE atype = 'authenticate' AND result = 0 AND user_name IS NOT NULL
UNION ALL
SELECT conn_key, user_name, first_ts AS auth_ts
FROM atlas_connections
WHERE authentications = 0
