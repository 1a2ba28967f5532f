// title: Who can write a resource
// description: Every entry (credential or person's sign-in) that can reach write or admin on one resource,
//   directly or through a scope that contains it (its account, project, namespace, server ... listed in
//   the resource's `within`), with the shortest path's length and whether every way there demands MFA.
// param resource: string -- id of the resource, e.g. aws:arn:aws:s3:::lumen-prod-invoices
MATCH (t:Resource {id: $resource})
MATCH (s:Resource) WHERE s.id = t.id OR s.id IN t.within
MATCH p = (e)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*0..8]->(:Identity)-[g:HAS_PERMISSION]->(s)
WHERE e.entry AND g.level IN ['write', 'admin'] AND all(step IN relationships(p) WHERE step.traversable)
WITH e, CASE WHEN s.id = t.id THEN g.level ELSE 'write' END AS level, length(p) AS hops,
     all(step IN relationships(p) WHERE step.mfa_free) AS mfa_free
WITH e, min(hops) AS hops, max(CASE level WHEN 'admin' THEN 2 ELSE 1 END) AS rank, min(CASE WHEN mfa_free THEN hops END) AS open_hops
RETURN e.id AS entry, e.name AS entry_name, e.provider AS entry_provider, e.entry_human AS human,
       e.entry_mfa AS mfa, CASE rank WHEN 2 THEN 'admin' ELSE 'write' END AS level,
       open_hops IS NULL AS requires_mfa, coalesce(open_hops, hops) AS hops
ORDER BY requires_mfa, hops, entry
