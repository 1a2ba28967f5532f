// title: Machine identities without an owner
// description: Service identities and machine users with no owner= or team= tag or label, no person
//   correlated to them, and no human identity who owns them (Entra application owners and anyone else who
//   can mint their credentials or change their rights).
MATCH (i:Identity)
WHERE NOT i.human AND (i.kind = 'ServiceIdentity' OR i.kind = 'User')
  AND NOT any(tag IN coalesce(i.tags, []) WHERE tag STARTS WITH 'owner=' OR tag STARTS WITH 'team=')
  AND NOT any(label IN coalesce(i.labels, []) WHERE label STARTS WITH 'owner=' OR label STARTS WITH 'team=')
  AND NOT EXISTS { MATCH (i)-[:BELONGS_TO]->(:Person) }
  AND NOT EXISTS { MATCH (o:Identity)-[:CAN_CREATE_CREDENTIAL|CAN_GRANT]->(i) WHERE o.human }
RETURN i.id AS identity, i.name AS name, i.kind AS kind, i.provider AS provider, i.scope AS scope
ORDER BY provider, identity
