// title: Cross-stack gap paths
// description: Gap entries (no MFA, or a machine's long-lived key) whose path to a privileged resource
//   passes through, or ends in, another provider than the entry's own: the gaps no single team sees.
//   Path-engine qualifier CROSS_STACK.
// finding: CROSS_STACK
// LadybugDB variant: the relationship filter sits inside the variable-length pattern
// ((r, n | WHERE ...)), because LadybugDB 0.15 drops some paths when all(...) over relationships(p)
// filters an unanchored variable-length match (seen on the 10k-identity benchmark organisation).
MATCH p = (e)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*0..8 (r, n | WHERE r.traversable AND r.mfa_free)]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE e.entry AND (e.entry_no_mfa OR e.entry_long_lived_nhi) AND g.target_class > 0 AND g.traversable
  AND g.mfa_free
WITH e, t, length(p) AS hops, list_distinct(properties(nodes(p), 'provider')) AS providers
WHERE size(providers) > 1
WITH e, t, min(hops) AS hops
RETURN e.id AS entry, e.name AS entry_name, e.provider AS entry_provider,
       t.id AS target, t.name AS target_name, t.provider AS target_provider, hops
ORDER BY entry, hops, target
