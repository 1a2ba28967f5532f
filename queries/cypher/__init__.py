"""The Cypher query library files (*.cypher); loaded by queries.cypher_library."""
