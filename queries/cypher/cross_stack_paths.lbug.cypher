// title: Cross-stack gap paths
// description: Gap entries (no MFA, or a machine's long-lived key) whose path to a privileged resource
//   passes through, or ends in, another provider than the entry's own: the gaps no single team sees.
//   Path-engine qualifier CROSS_STACK.
// finding: CROSS_STACK
// LadybugDB variant (docs/cypher.md, "Where the dialects differ"): the relationship filter sits inside
// the variable-length pattern ((r, n | WHERE ...)), because LadybugDB 0.15 drops some paths when
// all(...) over relationships(p) filters an unanchored variable-length match (10k benchmark organisation);
// and the start's own grants (a zero-length chain) are matched apart from the longer chains (*1..8),
// then merged, because LadybugDB 0.15 loses the zero-length match of a *0..n pattern when the start
// lies on a cycle (Entra's Global Administrator can reset its own members' passwords, for one);
// values from an OPTIONAL MATCH go through list_filter, not CASE, which LadybugDB 0.15 mis-evaluates there.
// A path within one provider adds 1000 to its hops (1 / providers, an integer division, is 1 for it
// and 0 otherwise), for the same reason: a CASE WHEN providers > 1 returned wrong rows here.
MATCH (e)
WHERE e.entry AND (e.entry_no_mfa OR e.entry_long_lived_nhi)
OPTIONAL MATCH p = (e)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*1..8 (r, n | WHERE r.traversable AND r.mfa_free)]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class > 0 AND g.traversable AND g.mfa_free
WITH e, t, length(p) AS hops, size(list_distinct(properties(nodes(p), 'provider'))) AS providers
WITH e, t, min(hops + 1000 * (1 / providers)) AS hops
WITH e, collect({t: t, hops: hops}) AS chains
OPTIONAL MATCH (e)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class > 0 AND g.traversable AND g.mfa_free AND t.provider <> e.provider
WITH e, chains, collect({t: t, hops: 1}) AS own
UNWIND list_concat(chains, own) AS reach
WITH e, reach.t AS t, reach.hops AS hops
WHERE t IS NOT NULL AND hops < 1000
WITH e, t, min(hops) AS hops
RETURN e.id AS entry, e.name AS entry_name, e.provider AS entry_provider,
       t.id AS target, t.name AS target_name, t.provider AS target_provider, hops
ORDER BY entry, hops, target
