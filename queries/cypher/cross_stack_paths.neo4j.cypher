// title: Cross-stack gap paths
// description: Gap entries (no MFA, or a machine's long-lived key) whose path to a privileged resource
//   passes through, or ends in, another provider than the entry's own: the gaps no single team sees.
//   Path-engine qualifier CROSS_STACK.
// finding: CROSS_STACK
MATCH p = (e)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*0..8]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE e.entry AND (e.entry_no_mfa OR e.entry_long_lived_nhi) AND g.target_class > 0
  AND all(step IN relationships(p) WHERE step.traversable AND step.mfa_free)
  AND any(n IN nodes(p) WHERE n.provider <> e.provider)
WITH e, t, min(length(p)) AS hops
RETURN e.id AS entry, e.name AS entry_name, e.provider AS entry_provider,
       t.id AS target, t.name AS target_name, t.provider AS target_provider, hops
ORDER BY entry, hops, target
