// title: Long-lived non-human keys reaching privileged write
// description: Keys, secrets, tokens and passwords of machine identities that are older than the policy's
//   maximum age (90 days by default) or never expire with an unknown age, with each privileged resource
//   they can write or administer. Path-engine finding type LONG_LIVED_NHI_KEY.
// finding: LONG_LIVED_NHI_KEY
MATCH p = (e:Credential)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*1..8]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE e.entry_long_lived_nhi AND g.target_class > 0
  AND all(step IN relationships(p) WHERE step.traversable AND step.mfa_free)
WITH e, t, length(p) AS hops, CASE g.level WHEN 'admin' THEN 2 ELSE 1 END AS rank
WITH e, t, min(hops) AS hops, max(rank) AS rank
RETURN e.id AS entry, e.name AS entry_name, e.kind AS credential_kind, e.age_days AS age_days,
       e.expires AS expires, t.id AS target, t.name AS target_name, t.provider AS target_provider,
       CASE rank WHEN 2 THEN 'admin' ELSE 'write' END AS level, hops
ORDER BY entry, hops, target
