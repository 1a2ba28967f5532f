// title: Blast radius of an identity or credential
// description: Every privileged resource one node can write or administer, through any chain of sign-in
//   and transfer edges, with the shortest path's length and whether every way there demands MFA
//   (hops counts the shortest MFA-free path when there is one). Same answer as `crosspath blast-radius`.
// param node: string -- id of the identity or credential, e.g. entra:a1000000-0000-4000-8000-000000000001
// LadybugDB variant: the relationship filter sits inside the variable-length pattern
// ((r, n | WHERE ...)), because LadybugDB 0.15 drops some paths when all(...) over relationships(p)
// filters an unanchored variable-length match (seen on the 10k-identity benchmark organisation);
// an MFA edge adds 100 to open_hops instead of a CASE over a list test, which it mis-evaluates.
MATCH p = (s {id: $node})-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*0..8 (r, n | WHERE r.traversable)]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class > 0 AND g.traversable
WITH t, length(p) AS hops,
     length(p) + 100 * size(list_filter(properties(rels(p), 'mfa_free'), x -> NOT x)) AS open_hops,
     CASE g.level WHEN 'admin' THEN 2 ELSE 1 END AS rank
WITH t, min(hops) AS hops, min(open_hops) AS open_hops, max(rank) AS rank
RETURN t.id AS target, t.name AS target_name, t.provider AS target_provider,
       CASE rank WHEN 2 THEN 'admin' ELSE 'write' END AS level,
       open_hops >= 100 AS requires_mfa, CASE WHEN open_hops >= 100 THEN hops ELSE open_hops END AS hops
ORDER BY hops, target
