// title: Stale credentials
// description: Usable credentials older than max_age_days, or that never expire and whose age cannot be
//   told, with the identity they sign in as and when they were last used (null = never, or not recorded).
// param max_age_days: int = 90 -- the maximum age in days (the policy's max_key_age)
MATCH (c:Credential)-[:AUTHENTICATES]->(i:Identity)
WHERE c.usable AND (c.age_days > $max_age_days OR (c.age_days IS NULL AND c.expires IS NULL))
RETURN c.id AS credential, c.kind AS kind, c.provider AS provider, i.id AS identity, i.human AS human,
       c.age_days AS age_days, c.expires AS expires, c.last_used AS last_used
ORDER BY provider, credential, identity
