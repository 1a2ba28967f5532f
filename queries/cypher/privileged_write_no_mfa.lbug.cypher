// title: Privileged write paths without MFA
// description: Every entry (a credential, or a person's interactive sign-in) that the MFA rule covers and
//   that does not enforce a second factor, with each privileged resource (production or sensitive, or admin
//   over a whole scope) it can write or administer without meeting an MFA condition on the way.
//   mfa = null means the MFA state is unknown: a gap, never safe. Path-engine finding type NO_MFA.
// finding: NO_MFA
// LadybugDB variant (docs/cypher.md, "Where the dialects differ"): the relationship filter sits inside
// the variable-length pattern ((r, n | WHERE ...)), because LadybugDB 0.15 drops some paths when
// all(...) over relationships(p) filters an unanchored variable-length match (10k benchmark organisation);
// and the start's own grants (a zero-length chain) are matched apart from the longer chains (*1..8),
// then merged, because LadybugDB 0.15 loses the zero-length match of a *0..n pattern when the start
// lies on a cycle (Entra's Global Administrator can reset its own members' passwords, for one);
// values from an OPTIONAL MATCH go through list_filter, not CASE, which LadybugDB 0.15 mis-evaluates there.
// The own grants come first: in that order the 100k benchmark organisation answers in 14 s, not 20 s.
MATCH (e)
WHERE e.entry AND e.entry_no_mfa
OPTIONAL MATCH (e)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class > 0 AND g.traversable AND g.mfa_free
WITH e, collect({t: t, hops: 1, rank: 1 + size(list_filter([g.level], x -> x = 'admin'))}) AS own
OPTIONAL MATCH p = (e)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*1..8 (r, n | WHERE r.traversable AND r.mfa_free)]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class > 0 AND g.traversable AND g.mfa_free
WITH e, own, t, length(p) AS hops, 1 + size(list_filter([g.level], x -> x = 'admin')) AS rank
WITH e, own, t, min(hops) AS hops, max(rank) AS rank
WITH e, own, collect({t: t, hops: hops, rank: rank}) AS chains
UNWIND list_concat(own, chains) AS reach
WITH e, reach.t AS t, reach.hops AS hops, reach.rank AS rank
WHERE t IS NOT NULL
WITH e, t, min(hops) AS hops, max(rank) AS rank
RETURN e.id AS entry, e.name AS entry_name, e.provider AS entry_provider, e.entry_mfa AS mfa,
       t.id AS target, t.name AS target_name, t.provider AS target_provider,
       CASE rank WHEN 2 THEN 'admin' ELSE 'write' END AS level, hops
ORDER BY entry, hops, target
