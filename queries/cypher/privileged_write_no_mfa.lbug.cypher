// title: Privileged write paths without MFA
// description: Every entry (a credential, or a person's interactive sign-in) that the MFA rule covers and
//   that does not enforce a second factor, with each privileged resource (production or sensitive, or admin
//   over a whole scope) it can write or administer without meeting an MFA condition on the way.
//   mfa = null means the MFA state is unknown: a gap, never safe. Path-engine finding type NO_MFA.
// finding: NO_MFA
// LadybugDB variant: the relationship filter sits inside the variable-length pattern
// ((r, n | WHERE ...)), because LadybugDB 0.15 drops some paths when all(...) over relationships(p)
// filters an unanchored variable-length match (seen on the 10k-identity benchmark organisation).
MATCH p = (e)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*0..8 (r, n | WHERE r.traversable AND r.mfa_free)]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE e.entry AND e.entry_no_mfa AND g.target_class > 0 AND g.traversable AND g.mfa_free
WITH e, t, length(p) AS hops, CASE g.level WHEN 'admin' THEN 2 ELSE 1 END AS rank
WITH e, t, min(hops) AS hops, max(rank) AS rank
RETURN e.id AS entry, e.name AS entry_name, e.provider AS entry_provider, e.entry_mfa AS mfa,
       t.id AS target, t.name AS target_name, t.provider AS target_provider,
       CASE rank WHEN 2 THEN 'admin' ELSE 'write' END AS level, hops
ORDER BY entry, hops, target
