// title: Shortest path between two nodes
// description: The shortest chain of sign-in, transfer and permission edges from one node to another,
//   edge kinds in order. LadybugDB writes shortest paths as [* SHORTEST 1..n].
// param source: string -- id of the start node, e.g. entra:a1000000-0000-4000-8000-000000000001
// param target: string -- id of the end node, e.g. aws:arn:aws:s3:::lumen-prod-invoices
MATCH p = (a {id: $source})-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET|HAS_PERMISSION* SHORTEST 1..12]->(b {id: $target})
RETURN properties(nodes(p), 'id') AS nodes, properties(rels(p), 'kind') AS kinds, length(p) AS hops
