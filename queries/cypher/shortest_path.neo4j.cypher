// title: Shortest path between two nodes
// description: The shortest chain of sign-in, transfer and permission edges from one node to another,
//   edge kinds in order. Neo4j writes shortest paths with shortestPath().
// param source: string -- id of the start node, e.g. entra:a1000000-0000-4000-8000-000000000001
// param target: string -- id of the end node, e.g. aws:arn:aws:s3:::lumen-prod-invoices
MATCH (a:CrosspathNode {id: $source}), (b:CrosspathNode {id: $target})
MATCH p = shortestPath((a)-[:AUTHENTICATES|MEMBER_OF|CAN_ASSUME|CAN_IMPERSONATE|CAN_CREATE_CREDENTIAL|CAN_RUN_AS|FEDERATES_TO|CAN_GRANT|CAN_READ_SECRET|HAS_PERMISSION*1..12]->(b))
RETURN [n IN nodes(p) | n.id] AS nodes, [r IN relationships(p) | type(r)] AS kinds, length(p) AS hops
