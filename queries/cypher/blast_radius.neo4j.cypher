// title: Blast radius of an identity or credential
// description: Every privileged resource one node can write or administer, through any chain of sign-in
//   and transfer edges, with the shortest path's length and whether every way there demands MFA
//   (hops counts the shortest MFA-free path when there is one). Write or admin over a scope is write on the
//   privileged resources inside it (their `within` lists the scope). Same answer as `crosspath blast-radius`.
// param node: string -- id of the identity or credential, e.g. entra:a1000000-0000-4000-8000-000000000001
MATCH p = (s {id: $node})-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*0..8]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class > 0 AND all(step IN relationships(p) WHERE step.traversable)
WITH t, g.level AS level, length(p) AS hops, all(step IN relationships(p) WHERE step.mfa_free) AS mfa_free
WITH t, min(hops) AS min_hops, max(CASE level WHEN 'admin' THEN 2 ELSE 1 END) AS rank, min(CASE WHEN mfa_free THEN hops END) AS open_hops
WITH collect({t: t, min_hops: min_hops, rank: rank, open_hops: open_hops}) AS direct
UNWIND direct AS d
OPTIONAL MATCH (x:Resource)
WHERE d.t.id IN x.within AND x.write_class > 0 AND NOT any(y IN direct WHERE y.t.id = x.id)
WITH direct, collect({t: x, min_hops: d.min_hops, rank: 1, open_hops: d.open_hops}) AS inside
UNWIND direct + inside AS reach
WITH reach.t AS t, reach.min_hops AS hops, reach.rank AS rank, reach.open_hops AS open_hops
WHERE t IS NOT NULL
WITH t, min(hops) AS min_hops, max(rank) AS rank, min(open_hops) AS open_hops
RETURN t.id AS target, t.name AS target_name, t.provider AS target_provider,
       CASE rank WHEN 2 THEN 'admin' ELSE 'write' END AS level,
       open_hops IS NULL AS requires_mfa, coalesce(open_hops, min_hops) AS hops
ORDER BY hops, target
