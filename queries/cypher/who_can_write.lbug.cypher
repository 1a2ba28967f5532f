// title: Who can write a resource
// description: Every entry (credential or person's sign-in) that can reach write or admin on one resource,
//   directly or through a scope that contains it (its account, project, namespace, server ... listed in
//   the resource's `within`), with the shortest path's length and whether every way there demands MFA.
// param resource: string -- id of the resource, e.g. aws:arn:aws:s3:::lumen-prod-invoices
// LadybugDB variant (docs/cypher.md, "Where the dialects differ"): the relationship filter sits inside
// the variable-length pattern ((r, n | WHERE ...)), because LadybugDB 0.15 drops some paths when
// all(...) over relationships(p) filters an unanchored variable-length match (10k benchmark organisation);
// an MFA-demanding relationship adds 100 to open_hops instead of a CASE over a list test;
// and grants the entry holds itself (a zero-length chain) are matched apart from the longer chains (*1..8),
// then merged, because LadybugDB 0.15 loses the zero-length match of a *0..n pattern when the start
// lies on a cycle (Entra's Global Administrator can reset its own members' passwords, for one);
// values from an OPTIONAL MATCH go through list_filter, not CASE, which LadybugDB 0.15 mis-evaluates there.
MATCH (t:Resource {id: $resource})
MATCH (s:Resource) WHERE s.id = t.id OR s.id IN t.within
OPTIONAL MATCH p = (e)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*1..8 (r, n | WHERE r.traversable)]->(:Identity)-[g:HAS_PERMISSION]->(s)
WHERE e.entry AND g.traversable AND g.level IN ['write', 'admin']
WITH t, s, e, length(p) AS hops,
     length(p) + 100 * size(list_filter(properties(rels(p), 'mfa_free'), x -> NOT x)) AS open_hops,
     1 + size(list_filter([g.level + ' ' + s.id], x -> x = 'admin ' + t.id)) AS rank
WITH t, e, min(hops) AS hops, min(open_hops) AS open_hops, max(rank) AS rank
WITH t, collect({e: e, hops: hops, open_hops: open_hops, rank: rank}) AS chains
MATCH (s:Resource) WHERE s.id = t.id OR s.id IN t.within
OPTIONAL MATCH (e)-[g:HAS_PERMISSION]->(s)
WHERE e.entry AND g.traversable AND g.level IN ['write', 'admin']
WITH chains, collect({e: e, hops: 1, open_hops: 1 + 100 * size(list_filter([g.mfa_free], x -> NOT x)),
                      rank: 1 + size(list_filter([g.level + ' ' + s.id], x -> x = 'admin ' + t.id))}) AS own
UNWIND list_concat(chains, own) AS reach
WITH reach.e AS e, reach.hops AS hops, reach.open_hops AS open_hops, reach.rank AS rank
WHERE e IS NOT NULL
WITH e, min(hops) AS hops, min(open_hops) AS open_hops, max(rank) AS rank
RETURN e.id AS entry, e.name AS entry_name, e.provider AS entry_provider, e.entry_human AS human,
       e.entry_mfa AS mfa, CASE rank WHEN 2 THEN 'admin' ELSE 'write' END AS level,
       open_hops >= 100 AS requires_mfa, CASE WHEN open_hops >= 100 THEN hops ELSE open_hops END AS hops
ORDER BY requires_mfa, hops, entry
