// title: Tier-zero identities
// description: Identities that hold, or can gain through membership, role assumption, impersonation,
//   federation, granting or secrets, admin over a whole account, tenant, organization, project,
//   subscription, cluster or server. hops = 1 means the identity holds the admin grant itself;
//   requires_mfa means every way there demands a second factor.
// LadybugDB variant: the relationship filter sits inside the variable-length pattern
// ((r, n | WHERE ...)), because LadybugDB 0.15 drops some paths when all(...) over relationships(p)
// filters an unanchored variable-length match (seen on the 10k-identity benchmark organisation);
// an MFA edge adds 100 to open_hops instead of a CASE over a list test, which it mis-evaluates.
MATCH p = (i:Identity)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET*0..8 (r, n | WHERE r.traversable)]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource)
WHERE g.target_class = 3 AND g.traversable
WITH i, t, length(p) AS hops,
     length(p) + 100 * size(list_filter(properties(rels(p), 'mfa_free'), x -> NOT x)) AS open_hops
// (LadybugDB 0.15: a DISTINCT aggregate must come after the other aggregates of a WITH)
WITH i, min(hops) AS hops, min(open_hops) AS open_hops, count(DISTINCT t) AS scopes
RETURN i.id AS identity, i.name AS name, i.kind AS kind, i.provider AS provider, i.human AS human,
       scopes, hops, open_hops >= 100 AS requires_mfa
ORDER BY hops, identity
