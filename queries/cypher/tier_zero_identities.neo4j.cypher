// title: Tier-zero identities
// description: Identities that hold, or can gain through membership, role assumption, impersonation,
//   federation, granting or secrets, admin over a whole account, tenant, organization, project,
//   subscription, cluster or server. hops = 1 means the identity holds the admin grant itself;
//   requires_mfa means every way there demands a second factor.
MATCH p = (i:Identity)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*0..8]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class = 3 AND all(s1 IN relationships(p) WHERE s1.traversable)
WITH i, t, length(p) AS hops, all(s2 IN relationships(p) WHERE s2.mfa_free) AS mfa_free
WITH i, t, hops, CASE WHEN mfa_free THEN hops ELSE 99 END AS open_hops
// (LadybugDB 0.15: a DISTINCT aggregate must come after the other aggregates of a WITH)
WITH i, min(hops) AS hops, min(open_hops) AS open_hops, count(DISTINCT t) AS scopes
RETURN i.id AS identity, i.name AS name, i.kind AS kind, i.provider AS provider, i.human AS human,
       scopes, hops, open_hops = 99 AS requires_mfa
ORDER BY hops, identity
