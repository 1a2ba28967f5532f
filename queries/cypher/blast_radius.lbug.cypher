// title: Blast radius of an identity or credential
// description: Every privileged resource one node can write or administer, through any chain of sign-in
//   and transfer edges, with the shortest path's length and whether every way there demands MFA
//   (hops counts the shortest MFA-free path when there is one). Write or admin over a scope is write on the
//   privileged resources inside it (their `within` lists the scope). Same answer as `crosspath blast-radius`.
// param node: string -- id of the identity or credential, e.g. entra:a1000000-0000-4000-8000-000000000001
// LadybugDB variant (docs/cypher.md, "Where the dialects differ"): the relationship filter sits inside
// the variable-length pattern ((r, n | WHERE ...)), because LadybugDB 0.15 drops some paths when
// all(...) over relationships(p) filters an unanchored variable-length match (10k benchmark organisation);
// an MFA-demanding relationship adds 100 to open_hops instead of a CASE over a list test;
// and the start's own grants (a zero-length chain) are matched apart from the longer chains (*1..8),
// then merged, because LadybugDB 0.15 loses the zero-length match of a *0..n pattern when the start
// lies on a cycle (Entra's Global Administrator can reset its own members' passwords, for one);
// values from an OPTIONAL MATCH go through list_filter, not CASE, which LadybugDB 0.15 mis-evaluates there.
// The node is anchored inside each OPTIONAL MATCH: after a MATCH (s {id: $node}) LadybugDB expands the
// chains from every node (1.2 s instead of 0.09 s on the 10k benchmark organisation).
OPTIONAL MATCH p = (s {id: $node})-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*1..8 (r, n | WHERE r.traversable)]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class > 0 AND g.traversable
WITH t, length(p) AS hops,
     length(p) + 100 * size(list_filter(properties(rels(p), 'mfa_free'), x -> NOT x)) AS open_hops,
     1 + size(list_filter([g.level], x -> x = 'admin')) AS rank
WITH t, min(hops) AS hops, min(open_hops) AS open_hops, max(rank) AS rank
WITH collect({t: t, hops: hops, open_hops: open_hops, rank: rank}) AS chains
OPTIONAL MATCH (s {id: $node})-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class > 0 AND g.traversable
WITH chains, collect({t: t, hops: 1, open_hops: 1 + 100 * size(list_filter([g.mfa_free], x -> NOT x)),
                      rank: 1 + size(list_filter([g.level], x -> x = 'admin'))}) AS own
UNWIND list_concat(chains, own) AS reach
WITH reach.t AS t, reach.hops AS hops, reach.open_hops AS open_hops, reach.rank AS rank
WHERE t IS NOT NULL
WITH t, min(hops) AS hops, min(open_hops) AS open_hops, max(rank) AS rank
WITH collect({t: t, hops: hops, open_hops: open_hops, rank: rank}) AS direct
UNWIND direct AS d
OPTIONAL MATCH (x:Resource)
WHERE d.t.id IN x.within AND x.write_class > 0 AND NOT list_contains(list_transform(direct, y -> y.t.id), x.id)
WITH direct, collect({t: x, hops: d.hops, open_hops: d.open_hops, rank: 1}) AS inside
UNWIND list_concat(direct, inside) AS reach
WITH reach.t AS t, reach.hops AS hops, reach.open_hops AS open_hops, reach.rank AS rank
WHERE t IS NOT NULL
WITH t, min(hops) AS hops, min(open_hops) AS open_hops, max(rank) AS rank
RETURN t.id AS target, t.name AS target_name, t.provider AS target_provider,
       CASE rank WHEN 2 THEN 'admin' ELSE 'write' END AS level,
       open_hops >= 100 AS requires_mfa, CASE WHEN open_hops >= 100 THEN hops ELSE open_hops END AS hops
ORDER BY hops, target
