"""`crosspath collect databases`: read grants live from PostgreSQL and MySQL / MariaDB servers.

Writes one `crosspath-db-dump` per server to OUT/databases/<name>.json (the format the offline
collector reads) and OUT/databases/collection.json. A server that cannot be reached, or whose
accounts cannot be read, is logged and skipped; the other servers are still collected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import psycopg
import pymysql

from collectors.databases.dump_format import FORMAT, SOURCE, VERSION
from collectors.databases.read_mysql import MySQLReader
from collectors.databases.read_postgres import PostgresReader, one_line
from collectors.databases.servers import ENV_DSNS, Target, TargetError, gather_targets
from collectors.live import LiveRun, out_option, quiet_option
from graph.times import iso

# Whatever goes wrong on one server (refused, bad password, TLS, an unexpected catalog) fails that
# server only; the run goes on with the others.
_SERVER_ERRORS = (psycopg.Error, pymysql.err.MySQLError, OSError)


@dataclass
class ServerOutcome:
    name: str
    status: str  # collected | partial | failed
    path: Path | None = None
    message: str = ""


def build_dump(target: Target, sections: dict[str, Any], collected_at: datetime) -> dict[str, Any]:
    """Wrap one reader's sections with the header, server block and hints of the format."""
    sections = dict(sections)
    engine = sections.pop("engine", "postgresql")
    server = {"name": target.name, "engine": engine, "version": sections.pop("version", None),
              "host": target.host, "port": target.port}
    if target.environment:
        server["environment"] = target.environment
    server.update(target.links)
    server["collected_at"] = iso(collected_at)
    dump: dict[str, Any] = {"format": FORMAT, "version": VERSION, "server": server}
    if target.identity_hints:
        dump["identity_hints"] = target.identity_hints
    skipped = sections.pop("skipped", [])
    dump.update(sections)
    if skipped:
        dump["skipped"] = skipped
    return dump


def collect_server(run: LiveRun, target: Target) -> ServerOutcome:
    """Read one server into OUT/databases/<name>.json; never raises for server-side problems."""
    run.scopes.append(f"{'postgres' if target.engine == 'postgresql' else 'mysql'}:{target.name}")

    def denied(section: str, database: str | None, error: BaseException) -> None:
        scope = f"{target.name}/{database}" if database else target.name
        run.denied(section, scope, one_line(error))

    reader = PostgresReader(target, denied) if target.engine == "postgresql" else MySQLReader(target, denied)
    collected_at = datetime.now(UTC)
    try:
        sections = reader.read()
    except _SERVER_ERRORS as exc:
        message = (f"cannot read {target.safe_dsn} ({target.engine} server at {target.host}:{target.port}): "
                   f"{one_line(exc)}")
        run.denied("connect", target.name, message, kind="failed")
        return ServerOutcome(target.name, "failed", message=message)
    if sections is None:
        reason = reader.skipped[0]["reason"] if reader.skipped else "denied"
        message = (f"{target.safe_dsn}: the account list is not readable ({reason}); "
                   "see the minimal grants in docs/collectors/databases.md")
        run.denied("read", target.name, message, kind="denied")
        return ServerOutcome(target.name, "failed", message=message)
    # validated when read (`crosspath scan`), where a row of an unexpected shape is named and skipped
    dump = build_dump(target, sections, collected_at)
    path = run.write(f"{target.name}.json", dump)
    for section in ("roles", "users", "privileges", "db_privileges", "table_privileges"):
        if section in dump:
            run.count(section, len(dump[section]))
    run.count("servers")
    status = "partial" if dump.get("skipped") else "collected"
    return ServerOutcome(target.name, status, path)


def collect_databases(targets: list[Target], out_root: Path, quiet: bool = True) -> tuple[LiveRun, list]:
    """Collect every target in turn; returns the run (for its log) and one outcome per server."""
    run = LiveRun(SOURCE, out_root, quiet=quiet)
    outcomes = []
    with run.progress() as bar:
        for target in run.track(targets, "database servers", bar):
            outcomes.append(collect_server(run, target))
    run.finish()
    return run, outcomes


@click.command("databases")
@click.option("--dsn", "dsns", multiple=True, metavar="[NAME=]URL",
              help="A server: postgresql://user@host:5432/db or mysql://user@host:3306/ (also postgres://, "
                   "mariadb://), optionally prefixed with its Crosspath name. Repeatable. TLS via query "
                   "parameters: sslmode / sslrootcert / sslcert / sslkey.")
@click.option("--config", "config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML list of servers (name, dsn, environment, tls, password_env, identity_hints, "
                   "aws_rds_resource_id / aws_region / aws_account_id, gcp_cloudsql_instance, databases).")
@click.option("--environment", type=click.Choice(["prod", "nonprod"]),
              help="Environment of the servers given by --dsn / CROSSPATH_DB_DSNS (config entries set their own).")
@out_option
@quiet_option
def command(dsns: tuple[str, ...], config: Path | None, environment: str | None, out_root: Path,
            quiet: bool) -> None:
    """Read database grants live (read-only) into OUT/databases/<server>.json.

    Servers come from --dsn, the CROSSPATH_DB_DSNS environment variable (space separated URLs) and --config.
    Exit code 1 when no server could be read.
    """
    try:
        targets = gather_targets(dsns, config, environment)
    except TargetError as exc:
        raise click.UsageError(str(exc)) from None
    if not targets:
        raise click.UsageError(f"no server given: use --dsn, --config or {ENV_DSNS}")
    _, outcomes = collect_databases(targets, out_root, quiet)
    for outcome in outcomes:
        if outcome.status == "failed":
            click.echo(f"error: {outcome.name}: {outcome.message}", err=True)
        else:
            note = " (some sections not readable; see collection.json)" if outcome.status == "partial" else ""
            click.echo(f"{outcome.name}: {outcome.path}{note}")
    if all(outcome.status == "failed" for outcome in outcomes):
        raise SystemExit(1)
