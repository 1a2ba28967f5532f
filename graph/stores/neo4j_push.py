"""Push a snapshot into Neo4j 5 with the official driver, and read it back read-only.

A push is a plan of (statement, parameters) steps, built first and then run:

1. constraints and indexes: a unique `id` per label (Identity, Credential, Resource, Person and the common
   CrosspathNode label every node also carries), and an index on the snapshot tag;
2. nodes, per label, in batches: `UNWIND $rows AS row MERGE (n:CrosspathNode {id: row.id}) SET n = row, ...`;
3. relationships, per type and endpoint labels, in batches, keyed by (source, target, type, via) like the
   snapshot's own edges: `MERGE (a)-[r:TYPE {via: row.via}]->(b) SET r = row, ...`;
4. clean-up: nodes and relationships whose `crosspath_snapshot` tag is not this snapshot's are deleted,
   in batches, so what an earlier push held and this snapshot no longer has goes away.

The tag is the snapshot's content digest, so pushing the same snapshot twice writes the same values
under the same keys and deletes nothing: idempotent. Every write runs in a managed transaction
(`session.execute_write`), which the driver retries on transient errors and lost connections.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.stores.errors import CypherError
from graph.stores.readonly import refuse_writes
from graph.stores.results import QueryResult, plain
from graph.stores.rows import NODE_LABELS, GraphRows

COMMON_LABEL = "CrosspathNode"
TAG = "crosspath_snapshot"
DEFAULT_BATCH_SIZE = 5000
DEFAULT_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class Neo4jSettings:
    uri: str
    user: str
    password: str = ""
    database: str = "neo4j"

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return f"Neo4jSettings(uri={self.uri!r}, user={self.user!r}, database={self.database!r})"

    @classmethod
    def from_env(cls, uri: str | None = None, user: str | None = None, password: str | None = None,
                 database: str | None = None) -> Neo4jSettings:
        """Options first, then NEO4J_URI, NEO4J_USERNAME (or NEO4J_USER), NEO4J_PASSWORD, NEO4J_DATABASE."""
        uri = uri or os.environ.get("NEO4J_URI")
        if not uri:
            raise CypherError("no Neo4j URI: pass --uri or set NEO4J_URI (e.g. neo4j://localhost:7687)")
        return cls(
            uri=uri,
            user=user or os.environ.get("NEO4J_USERNAME") or os.environ.get("NEO4J_USER") or "neo4j",
            password=password if password is not None else os.environ.get("NEO4J_PASSWORD", ""),
            database=database or os.environ.get("NEO4J_DATABASE") or "neo4j",
        )


@dataclass(frozen=True)
class Step:
    phase: str  # schema | nodes | relationships
    statement: str
    parameters: dict[str, Any]
    rows: int = 0


def snapshot_tag(snapshot_path: Path) -> str:
    digest = hashlib.sha256()
    with Path(snapshot_path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def schema_statements() -> list[str]:
    statements = []
    for label in (COMMON_LABEL, *NODE_LABELS):
        statements.append(f"CREATE CONSTRAINT crosspath_{label.lower()}_id IF NOT EXISTS "
                          f"FOR (n:{label}) REQUIRE n.id IS UNIQUE")
    statements.append(f"CREATE INDEX crosspath_node_snapshot IF NOT EXISTS FOR (n:{COMMON_LABEL}) ON (n.{TAG})")
    return statements


def node_statement(label: str) -> str:
    return (f"UNWIND $rows AS row MERGE (n:{COMMON_LABEL} {{id: row.id}}) "
            f"SET n = row, n:{label}, n.{TAG} = $tag")


def relationship_statement(rel_type: str, source_label: str, target_label: str) -> str:
    return (f"UNWIND $rows AS row "
            f"MATCH (a:{source_label} {{id: row.source}}) MATCH (b:{target_label} {{id: row.target}}) "
            f"MERGE (a)-[r:{rel_type} {{via: row.via}}]->(b) "
            f"SET r = row.properties, r.{TAG} = $tag")


def cleanup_statements() -> list[str]:
    """Delete, a batch at a time, what earlier pushes left and this snapshot does not hold."""
    return [
        (f"MATCH (:{COMMON_LABEL})-[r]->(:{COMMON_LABEL}) WHERE r.{TAG} <> $tag "
        f"WITH r LIMIT $batch DELETE r RETURN count(*) AS deleted"),
        (f"MATCH (n:{COMMON_LABEL}) WHERE n.{TAG} <> $tag "
        f"WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS deleted"),
    ]


def _batches(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _node_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if value is not None}  # Neo4j stores no nulls


def _relationship_row(row: dict[str, Any]) -> dict[str, Any]:
    properties = {k: v for k, v in row.items() if v is not None and k not in ("source", "target")}
    return {"source": row["source"], "target": row["target"], "via": row["via"], "properties": properties}


def push_plan(rows: GraphRows, tag: str, batch_size: int = DEFAULT_BATCH_SIZE) -> list[Step]:
    """Every write of a push, in order, with its exact parameters (the clean-up is run apart, see push)."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    steps = [Step("schema", statement, {}) for statement in schema_statements()]
    for label in NODE_LABELS:
        for batch in _batches(sorted(rows.nodes.get(label, []), key=lambda r: r["id"]), batch_size):
            steps.append(Step("nodes", node_statement(label), {"rows": [_node_row(r) for r in batch], "tag": tag},
                              len(batch)))
    for rel_type in rows.edges:
        for (source, target), records in sorted(rows.edges_between(rel_type).items()):
            ordered = sorted(records, key=lambda r: (r["source"], r["target"], r["via"]))
            for batch in _batches(ordered, batch_size):
                steps.append(Step("relationships", relationship_statement(rel_type, source, target),
                                  {"rows": [_relationship_row(r) for r in batch], "tag": tag}, len(batch)))
    return steps


@dataclass
class PushReport:
    tag: str
    nodes: int = 0
    relationships: int = 0
    deleted: int = 0
    statements: int = 0


def _driver(settings: Neo4jSettings, retry_seconds: float = DEFAULT_RETRY_SECONDS) -> Any:
    import neo4j

    return neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password),
                                      max_transaction_retry_time=retry_seconds)


def _neo4j_error(exc: Exception, settings: Neo4jSettings) -> CypherError:
    message = getattr(exc, "message", None) or str(exc)
    return CypherError(f"Neo4j at {settings.uri} (database {settings.database}): {type(exc).__name__}: {message}")


def push(rows: GraphRows, tag: str, settings: Neo4jSettings, batch_size: int = DEFAULT_BATCH_SIZE,
         progress: Callable[[Step], None] | None = None, retry_seconds: float = DEFAULT_RETRY_SECONDS) -> PushReport:
    """Load `rows` into Neo4j under `tag`, then delete what other tags left. Idempotent."""
    import neo4j.exceptions

    report = PushReport(tag)
    plan = push_plan(rows, tag, batch_size)
    try:
        with _driver(settings, retry_seconds) as driver, driver.session(database=settings.database) as session:
            for step in plan:
                if step.phase == "schema":
                    session.run(step.statement).consume()  # schema changes cannot share a transaction
                else:
                    session.execute_write(lambda tx, s=step: tx.run(s.statement, s.parameters).consume())
                report.statements += 1
                if step.phase == "nodes":
                    report.nodes += step.rows
                elif step.phase == "relationships":
                    report.relationships += step.rows
                if progress:
                    progress(step)
            for statement in cleanup_statements():
                while True:
                    deleted = session.execute_write(
                        lambda tx, s=statement: tx.run(s, {"tag": tag, "batch": batch_size}).single()["deleted"])
                    report.deleted += deleted
                    report.statements += 1
                    if deleted < batch_size:
                        break
    except neo4j.exceptions.Neo4jError as exc:
        raise _neo4j_error(exc, settings) from exc
    except neo4j.exceptions.DriverError as exc:
        raise _neo4j_error(exc, settings) from exc
    return report


def run_neo4j_read_query(settings: Neo4jSettings, query: str, parameters: dict[str, Any] | None = None,
                         limit: int | None = None, retry_seconds: float = 2.0) -> QueryResult:
    """Read-only Cypher on Neo4j: refused if it writes, and run in a READ access-mode session
    (retried briefly: a person is waiting for the answer)."""
    import time

    import neo4j
    import neo4j.exceptions

    query = refuse_writes(query)  # the one statement, without a trailing ';'
    started = time.perf_counter()

    def read(tx: Any) -> tuple[list[str], list[list[Any]], bool]:
        result = tx.run(query, parameters or {})
        columns = list(result.keys())
        rows, truncated = [], False
        for record in result:
            if limit is not None and len(rows) >= limit:
                truncated = True
                break
            rows.append([plain(value) for value in record.values()])
        return columns, rows, truncated

    try:
        with _driver(settings, retry_seconds) as driver, driver.session(database=settings.database,
                                                         default_access_mode=neo4j.READ_ACCESS) as session:
            columns, rows, truncated = session.execute_read(read)
    except neo4j.exceptions.Neo4jError as exc:
        raise _neo4j_error(exc, settings) from exc
    except neo4j.exceptions.DriverError as exc:
        raise _neo4j_error(exc, settings) from exc
    return QueryResult(columns, rows, (time.perf_counter() - started) * 1000, truncated)
