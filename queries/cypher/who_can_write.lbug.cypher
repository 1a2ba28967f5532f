// title: Who can write a resource
// description: Every entry (credential or person's sign-in) that can reach write or admin on one resource,
//   with the shortest path's length and whether every way there demands MFA.
// param resource: string -- id of the resource, e.g. aws:arn:aws:s3:::lumen-prod-invoices
// LadybugDB variant: the relationship filter sits inside the variable-length pattern
// ((r, n | WHERE ...)), because LadybugDB 0.15 drops some paths when all(...) over relationships(p)
// filters an unanchored variable-length match (seen on the 10k-identity benchmark organisation);
// an MFA edge adds 100 to open_hops instead of a CASE over a list test, which it mis-evaluates.
MATCH p = (e)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*0..8 (r, n | WHERE r.traversable)]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource {id: $resource})
WHERE e.entry AND g.traversable AND g.level IN ['write', 'admin']
WITH e, length(p) AS hops,
     length(p) + 100 * size(list_filter(properties(rels(p), 'mfa_free'), x -> NOT x)) AS open_hops,
     CASE g.level WHEN 'admin' THEN 2 ELSE 1 END AS rank
WITH e, min(hops) AS hops, min(open_hops) AS open_hops, max(rank) AS rank
RETURN e.id AS entry, e.name AS entry_name, e.provider AS entry_provider, e.entry_human AS human,
       e.entry_mfa AS mfa, CASE rank WHEN 2 THEN 'admin' ELSE 'write' END AS level,
       open_hops >= 100 AS requires_mfa, CASE WHEN open_hops >= 100 THEN hops ELSE open_hops END AS hops
ORDER BY requires_mfa, hops, entry
