// title: Tier-zero identities
// description: Identities that hold, or can gain through membership, role assumption, impersonation,
//   federation, granting or secrets, admin over a whole account, tenant, organization, project,
//   subscription, cluster or server. hops = 1 means the identity holds the admin grant itself.
MATCH p = (i:Identity)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*0..8]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class = 3 AND all(step IN relationships(p) WHERE step.traversable)
WITH i, t, length(p) AS hops, all(step IN relationships(p) WHERE step.mfa_free) AS mfa_free
// (LadybugDB 0.15 quirk: a DISTINCT aggregate must come after the other aggregates of a WITH)
WITH i, min(hops) AS hops, min(CASE WHEN mfa_free THEN hops END) AS open_hops, count(DISTINCT t) AS scopes
RETURN i.id AS identity, i.name AS name, i.kind AS kind, i.provider AS provider, i.human AS human,
       scopes, hops, open_hops IS NULL AS requires_mfa
ORDER BY hops, identity
