// title: Tier-zero identities
// description: Identities that hold, or can gain through membership, role assumption, impersonation,
//   federation, granting or secrets, admin over a whole account, tenant, organization, project,
//   subscription, cluster or server. hops = 1 means the identity holds the admin grant itself;
//   requires_mfa means every way there demands a second factor.
// LadybugDB variant (docs/cypher.md, "Where the dialects differ"): the relationship filter sits inside
// the variable-length pattern ((r, n | WHERE ...)), because LadybugDB 0.15 drops some paths when
// all(...) over relationships(p) filters an unanchored variable-length match (10k benchmark organisation);
// an MFA-demanding relationship adds 100 to open_hops instead of a CASE over a list test;
// and the start's own grants (a zero-length chain) are matched apart from the longer chains (*1..8),
// then merged, because LadybugDB 0.15 loses the zero-length match of a *0..n pattern when the start
// lies on a cycle (Entra's Global Administrator can reset its own members' passwords, for one);
// values from an OPTIONAL MATCH go through list_filter, not CASE, which LadybugDB 0.15 mis-evaluates there.
// The own grants come first: in that order the 100k benchmark organisation answers in 2.4 s, not 17 s.
MATCH (i:Identity)
OPTIONAL MATCH (i)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class = 3 AND g.traversable
WITH i, collect({t: t.id, hops: 1, open_hops: 1 + 100 * size(list_filter([g.mfa_free], x -> NOT x))}) AS own
OPTIONAL MATCH p = (i)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*1..8 (r, n | WHERE r.traversable)]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class = 3 AND g.traversable
WITH i, own, t.id AS t, length(p) AS hops,
     length(p) + 100 * size(list_filter(properties(rels(p), 'mfa_free'), x -> NOT x)) AS open_hops
WITH i, own, t, min(hops) AS hops, min(open_hops) AS open_hops
WITH i, own, collect({t: t, hops: hops, open_hops: open_hops}) AS chains
UNWIND list_concat(own, chains) AS reach
WITH i, reach.t AS t, reach.hops AS hops, reach.open_hops AS open_hops
WHERE t IS NOT NULL
// (LadybugDB 0.15: a DISTINCT aggregate must come after the other aggregates of a WITH)
WITH i, min(hops) AS hops, min(open_hops) AS open_hops, count(DISTINCT t) AS scopes
RETURN i.id AS identity, i.name AS name, i.kind AS kind, i.provider AS provider, i.human AS human,
       scopes, hops, open_hops >= 100 AS requires_mfa
ORDER BY hops, identity
