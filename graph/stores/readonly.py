"""Refuse writing Cypher before it reaches a store.

The check reads the query's keywords with string literals, comments and back-quoted names removed,
so `WHERE n.name = 'CREATE'` is fine and `MATCH (n) DETACH DELETE n` is not. It is the first of two
locks: the embedded store is also opened read-only and Neo4j queries run in a READ session.
"""

from __future__ import annotations

import re

from graph.stores.errors import ReadOnlyError

_LITERALS = re.compile(
    r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|//[^\n]*|/\*.*?\*/""",
    re.DOTALL,
)
# A keyword counts only as a clause, not as a property or map key (`n.set`, `{delete: 1}`).
_WRITE_CLAUSES = re.compile(
    r"(?<![\w.$])(CREATE|MERGE|SET|DELETE|DETACH|REMOVE|DROP|ALTER|COPY|INSTALL|LOAD|ATTACH|DETACH|"
    r"IMPORT|EXPORT|CHECKPOINT|BEGIN|COMMIT|ROLLBACK|FOREACH)(?![\w:])",
    re.IGNORECASE,
)
_CALL = re.compile(r"(?<![\w.$])CALL\s*(\{|[\w.]+)", re.IGNORECASE)
# Procedures that only read: schema introspection on both stores and the APOC path expanders.
READ_PROCEDURES = frozenset(
    {
        "show_tables", "table_info", "show_connection", "show_functions", "current_setting",
        "db.labels", "db.relationshiptypes", "db.propertykeys", "db.schema.visualization",
        "db.schema.nodetypeproperties", "db.schema.reltypeproperties", "db.indexes", "db.constraints",
        "apoc.path.expand", "apoc.path.expandconfig", "apoc.path.subgraphnodes", "apoc.path.spanningtree",
        "apoc.meta.schema", "apoc.meta.stats",
    }
)
MESSAGE = (
    "the Cypher console is read-only: {what} is refused. Ask questions with MATCH ... RETURN; "
    "to change the graph, re-run `crosspath scan` (and `crosspath neo4j push` for Neo4j)."
)


def _code_only(query: str) -> str:
    return _LITERALS.sub(" ", query)


def refuse_writes(query: str) -> None:
    """Raise ReadOnlyError when `query` would write: CREATE, MERGE, SET, DELETE, REMOVE, DROP, LOAD CSV,
    COPY, or CALL of a procedure not known to be read-only (CALL { subquery } is checked as a query)."""
    code = _code_only(query)
    match = _WRITE_CLAUSES.search(code)
    if match:
        what = match.group(1).upper()
        if what == "LOAD" and re.match(r"LOAD\s+CSV", code[match.start():], re.IGNORECASE):
            what = "LOAD CSV"
        raise ReadOnlyError(MESSAGE.format(what=what))
    for call in _CALL.finditer(code):
        target = call.group(1)
        if target == "{":
            continue  # a subquery: its clauses were checked above
        if target.lower() not in READ_PROCEDURES:
            raise ReadOnlyError(MESSAGE.format(what=f"CALL {target} (not a known read-only procedure)"))
