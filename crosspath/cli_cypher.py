"""`crosspath cypher`, `crosspath neo4j push|export-csv` and `crosspath export`: the graph stores' CLI.

Registered on the main group by crosspath/cli.py (`register(main)`)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from crosspath.pipeline import DEFAULT_SNAPSHOT, default_snapshot
from graph.stores import CypherError, QueryResult
from graph.stores.results import short_text
from queries.cypher_library import LibraryError, load_library
from queries.reports.terminal_text import safe, styled, text

HISTORY_FILE = Path.home() / ".crosspath_cypher_history"
stderr = Console(stderr=True)
stdout = Console()

_snapshot_option = click.option(
    "--snapshot", "snapshot_path", type=click.Path(dir_okay=False, path_type=Path), default=default_snapshot,
    show_default=str(DEFAULT_SNAPSHOT), help="The snapshot to query (written by `crosspath scan`).",
)
_policy_option = click.option(
    "--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Policy YAML for the derived facts (entry_no_mfa, target_class, ...); default: the default policy.",
)
_uri = click.option("--uri", envvar="NEO4J_URI", show_envvar=True, help="Neo4j URI, e.g. neo4j://localhost:7687.")
_user = click.option("--user", envvar=["NEO4J_USERNAME", "NEO4J_USER"], show_envvar=True, help="Neo4j user.")
_password = click.option("--password", envvar="NEO4J_PASSWORD", show_envvar=True,
                         help="Neo4j password (prefer the environment variable; it is never printed).")
_database = click.option("--database", envvar="NEO4J_DATABASE", show_envvar=True, help="Neo4j database.")


def _parse_parameters(pairs: tuple[str, ...]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r}: write --param name=value", param_hint="--param")
        try:
            parameters[name] = json.loads(value)  # numbers, true/false, lists; anything else is a string
        except json.JSONDecodeError:
            parameters[name] = value
    return parameters


def render(result: QueryResult, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(result.records(), indent=2, ensure_ascii=False)
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(result.columns)
        for row in result.rows:
            writer.writerow([json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else
                             short_text(v) for v in row])
        return buffer.getvalue().rstrip("\r\n")
    table = Table(show_lines=False, header_style="bold")
    for column in result.columns:
        table.add_column(text(column), overflow="fold")
    for row in result.rows:  # graph values are customer data: safe Text, never markup
        table.add_row(*(text(short_text(v)) for v in row))
    # A terminal gets its own width; a pipe or file gets room for long ids.
    width = stdout.width if sys.stdout.isatty() else max(stdout.width, 200)
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(table)
    more = " (more rows not shown: raise --limit)" if result.truncated else ""
    console.print(f"{len(result.rows)} row(s) in {result.elapsed_ms:.0f} ms{more}", style="dim")
    return console.export_text().rstrip("\n")


def _policy(policy_path: Path | None) -> Any:
    from queries.policy import load_policy
    from queries.yaml_files import ConfigError

    try:
        return load_policy(policy_path)
    except ConfigError as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc


def _run(query: str, parameters: dict[str, Any], store: str, snapshot_path: Path, neo4j_options: dict[str, Any],
         limit: int | None, timeout_s: float = 600, policy_path: Path | None = None,
         memory_limit: str | None = None) -> QueryResult:
    """Check the query (graph.stores.readonly) and run it: on Neo4j in a READ session, on the embedded
    store in a worker process with a time and a memory limit."""
    from graph.stores.readonly import refuse_writes

    refuse_writes(query)  # before anything else: a refused query never needs a connection
    if store == "neo4j":
        from graph.stores.neo4j_push import Neo4jSettings, run_neo4j_read_query

        return run_neo4j_read_query(Neo4jSettings.from_env(**neo4j_options), query, parameters, limit)
    from graph.stores import run_read_query

    if policy_path is not None:
        from graph.stores.embedded import open_store

        return open_store(snapshot_path, _policy(policy_path)).query(query, parameters, limit, timeout_s,
                                                                     memory_limit)
    return run_read_query(snapshot_path, query, parameters, limit, timeout_s, memory_limit)


def _list_library() -> None:
    for name, query in sorted(load_library().items()):
        params = ", ".join(f"{p.name}{'' if p.required else '=' + str(p.default)}" for p in query.parameters)
        stdout.print(styled((name, "bold"), f"  ({params})" if params else ""), highlight=False)
        stdout.print(styled(f"    {query.title}. {query.description}"), highlight=False)


def _shell(store: str, snapshot_path: Path, neo4j_options: dict[str, Any], output_format: str,
           limit: int | None, timeout_s: float = 600, policy_path: Path | None = None,
           memory_limit: str | None = None) -> None:
    """Read queries ending in ';' (or a blank line) and print their results; history in ~/.crosspath_cypher_history."""
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        readline = None  # type: ignore[assignment]
    if readline is not None:
        try:
            readline.read_history_file(HISTORY_FILE)
        except OSError:
            pass
    stderr.print(styled(f"Cypher on {'Neo4j' if store == 'neo4j' else snapshot_path} (read-only). "
                      "End a query with ';'. :library lists saved questions, :quit leaves."), highlight=False)
    lines: list[str] = []
    while True:
        try:
            line = input("cypher> " if not lines else "   ...> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            break
        stripped = line.strip()
        if not lines and stripped in (":quit", ":exit", ":q"):
            break
        if not lines and stripped == ":library":
            _list_library()
            continue
        lines.append(line)
        if not stripped.endswith(";") and stripped:
            continue
        query = "\n".join(lines).strip().rstrip(";")
        lines = []
        if not query:
            continue
        try:
            click.echo(render(_run(query, {}, store, snapshot_path, neo4j_options, limit, timeout_s, policy_path,
                                   memory_limit), output_format))
        except CypherError as exc:
            stderr.print(styled(("error:", "red"), f" {exc}"), highlight=False)
    if readline is not None:
        try:
            readline.write_history_file(HISTORY_FILE)
        except OSError:
            pass


@click.command("cypher")
@click.argument("query", required=False)
@_snapshot_option
@_policy_option
@click.option("-q", "--library", "library_name", help="Run a saved question from the query library (see --list).")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="A query parameter ($NAME).")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Print at most this many rows.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=600, show_default=True,
              help="Stop an embedded-store query after this many seconds.")
@click.option("--memory-limit", "memory_limit", metavar="SIZE", envvar="CROSSPATH_CYPHER_MEMORY_LIMIT",
              show_envvar=True, default=None,
              help="Address space of the embedded store's worker process, e.g. 4GiB (the default), 8GiB, "
                   "0 for none. A query needing more is stopped with an error.")
@click.option("--list", "list_library", is_flag=True, help="List the query library and exit.")
@click.option("--store", type=click.Choice(["embedded", "neo4j"]), default="embedded", show_default=True,
              help="embedded: LadybugDB next to the snapshot, no server. neo4j: the server of `crosspath neo4j push`.")
@_uri
@_user
@_password
@_database
def cypher_command(query: str | None, snapshot_path: Path, policy_path: Path | None, library_name: str | None, params: tuple[str, ...],
                   output_format: str, limit: int | None, timeout_s: float, memory_limit: str | None,
                   list_library: bool, store: str,
                   uri: str | None, user: str | None, password: str | None, database: str | None) -> None:
    """Ask the graph anything in read-only Cypher. With no QUERY and no --library, an interactive shell
    (on a terminal) or the query read from standard input.

    Labels are the node families (Identity, Credential, Resource, Person); relationship types are the
    edge kinds (MEMBER_OF, CAN_ASSUME, HAS_PERMISSION, ...). docs/cypher.md has the schema.

    One statement per query, reading clauses only, CALL only of schema procedures (show_tables,
    table_info, ...): anything else is refused with exit code 1. Embedded-store queries run in a worker
    process with --timeout and --memory-limit; a crash of the store is reported, never inherited."""
    if list_library:
        _list_library()
        return
    neo4j_options = {"uri": uri, "user": user, "password": password, "database": database}
    parameters = _parse_parameters(params)
    try:
        if library_name:
            library = load_library()
            if library_name not in library:
                raise click.BadParameter(f"no library query {library_name!r}; choose from {', '.join(sorted(library))}",
                                         param_hint="--library")
            saved = library[library_name]
            query = saved.text("neo4j" if store == "neo4j" else "lbug")
            parameters = saved.bind(parameters)
        if not query:
            if sys.stdin.isatty():
                _shell(store, snapshot_path, neo4j_options, output_format, limit, timeout_s, policy_path,
                       memory_limit)
                return
            query = sys.stdin.read()
        click.echo(render(_run(query, parameters, store, snapshot_path, neo4j_options, limit, timeout_s,
                               policy_path, memory_limit), output_format))
    except (CypherError, LibraryError) as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc


@click.group("neo4j")
def neo4j_group() -> None:
    """Load snapshots into Neo4j 5 for teams (browser, Bloom, shared queries)."""


def _rows(snapshot_path: Path, policy_path: Path | None = None):
    from graph.snapshot import SnapshotError, read_snapshot
    from graph.stores.rows import graph_rows

    try:
        graph, _ = read_snapshot(snapshot_path)
    except SnapshotError as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc
    return graph_rows(graph, _policy(policy_path))


@neo4j_group.command("push")
@_snapshot_option
@_policy_option
@_uri
@_user
@_password
@_database
@click.option("--batch-size", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Rows per UNWIND ... MERGE transaction.")
@click.option("--retry-seconds", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="How long the driver retries a transaction after transient errors.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def neo4j_push_command(snapshot_path: Path, policy_path: Path | None, uri: str | None, user: str | None, password: str | None,
                       database: str | None, batch_size: int, retry_seconds: float, quiet: bool) -> None:
    """Load a snapshot into Neo4j: constraints first, batched idempotent MERGEs, then removal of what
    earlier pushes held and this snapshot does not. Pushing the same snapshot twice changes nothing."""
    from rich.progress import Progress

    from graph.stores.neo4j_push import Neo4jSettings, push, snapshot_tag

    if not snapshot_path.is_file():
        raise click.ClickException(f"{snapshot_path}: no snapshot here; run `crosspath scan DIR --out OUT` first")
    try:
        settings = Neo4jSettings.from_env(uri, user, password, database)
    except CypherError as exc:
        raise click.ClickException(safe(exc, multiline=True)) from exc
    rows = _rows(snapshot_path, policy_path)
    total = sum(len(r) for r in rows.nodes.values()) + sum(len(r) for r in rows.edges.values())
    with Progress(console=stderr, disable=quiet, transient=True) as progress:
        task = progress.add_task("pushing to Neo4j", total=total)
        try:
            report = push(rows, snapshot_tag(snapshot_path), settings, batch_size,
                          lambda step: progress.advance(task, step.rows), retry_seconds)
        except CypherError as exc:
            raise click.ClickException(safe(exc, multiline=True)) from exc
    if not quiet:
        stdout.print(styled(f"pushed {report.nodes} nodes and {report.relationships} relationships to database "
                          f"{settings.database} (snapshot tag {report.tag}); removed {report.deleted} stale item(s)"),
                     highlight=False)


@neo4j_group.command("export-csv")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@_snapshot_option
@_policy_option
@click.option("--database", default="neo4j", show_default=True, help="Database name in import.sh.")
def neo4j_export_csv_command(out_dir: Path, snapshot_path: Path, policy_path: Path | None, database: str) -> None:
    """Write CSV files and import.sh for `neo4j-admin database import full` (very large graphs)."""
    from graph.stores.neo4j_csv import export_csv
    from graph.stores.neo4j_push import snapshot_tag

    if not snapshot_path.is_file():
        raise click.ClickException(f"{snapshot_path}: no snapshot here; run `crosspath scan DIR --out OUT` first")
    files = export_csv(_rows(snapshot_path, policy_path), out_dir, snapshot_tag(snapshot_path), database)
    for path in files:
        click.echo(path)


JSON_EXPORT_NAME = "crosspath-snapshot.json.gz"


def _export_json(snapshot_path: Path, out_path: Path | None) -> Path:
    """The snapshot as the version 1 JSON document (docs/snapshot.md), gzip-compressed when the name ends
    in .gz: the nodes, edges and metadata, for tools that read JSON (version 1 keeps no edge keys: a
    reader makes them `kind|via` again)."""
    from graph.snapshot import SnapshotError, read_snapshot, write_snapshot

    out_path = out_path or snapshot_path.parent / JSON_EXPORT_NAME
    if not out_path.name.endswith((".json", ".json.gz")):
        raise click.ClickException(f"{out_path}: a JSON export's name ends in .json or .json.gz")
    try:
        graph, metadata = read_snapshot(snapshot_path)
    except SnapshotError as exc:
        raise click.ClickException(safe(exc)) from exc
    return write_snapshot(out_path, graph, metadata)


@click.command("export")
@click.option("--format", "output_format", type=click.Choice(["opengraph", "graphml", "json"]), required=True,
              help="opengraph: BloodHound CE OpenGraph JSON. graphml: for Gephi and yEd. json: the snapshot "
                   "as a JSON document (crosspath-snapshot version 1, gzip when --out ends in .gz).")
@_snapshot_option
@_policy_option
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write. Default: crosspath-graph.json / crosspath-graph.graphml / "
                   f"{JSON_EXPORT_NAME} beside the snapshot.")
def export_command(output_format: str, snapshot_path: Path, policy_path: Path | None, out_path: Path | None) -> None:
    """Export the snapshot's graph for other tools: BloodHound (OpenGraph), Gephi / yEd (GraphML), or
    the snapshot itself as JSON (graph and metadata as stored; --policy does not apply)."""
    from graph.snapshot import write_atomic

    if not snapshot_path.is_file():
        raise click.ClickException(f"{snapshot_path}: no snapshot here; run `crosspath scan DIR --out OUT` first")
    if output_format == "json":
        click.echo(_export_json(snapshot_path, out_path))
        return
    rows = _rows(snapshot_path, policy_path)
    if output_format == "opengraph":
        from graph.stores.opengraph import to_opengraph

        out_path = out_path or snapshot_path.parent / "crosspath-graph.json"
        write_atomic(out_path, json.dumps(to_opengraph(rows), ensure_ascii=False).encode())
    else:
        from graph.stores.graphml import write_graphml

        out_path = out_path or snapshot_path.parent / "crosspath-graph.graphml"
        out_path.parent.mkdir(parents=True, exist_ok=True)
        write_graphml(rows, out_path)
    click.echo(out_path)


def register(main: click.Group) -> None:
    for command in (cypher_command, neo4j_group, export_command):
        main.add_command(command)
