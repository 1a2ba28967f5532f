"""Real PostgreSQL and MariaDB servers for the live database collector tests.

The servers are the machine's own (`.ci/databases.sh` installs them as root when missing, starts them
and gives them these logins when they lack them): PostgreSQL on 127.0.0.1:5432 (`postgres`, trusted on
127.0.0.1), MariaDB on 127.0.0.1:3306 (`root`, empty password). Each test
creates its own database and roles with unique names and drops them afterwards. Without a server
the tests skip with the command that installs and starts it, and error under CI=true (tests/servers.py).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import psycopg
import pymysql
import pytest

from collectors.databases import collect_offline
from collectors.databases.dump_format import SCHEMA_PATH
from collectors.databases.live import collect_databases
from collectors.databases.servers import Target, parse_dsn
from graph.coverage import CollectResult
from tests.servers import missing

PG_HOST = os.environ.get("CROSSPATH_TEST_PG", "127.0.0.1:5432")
MY_HOST = os.environ.get("CROSSPATH_TEST_MYSQL", "127.0.0.1:3306")
PG_ADMIN_DSN = f"postgresql://postgres@{PG_HOST}/postgres"
MY_ADMIN_DSN = f"mysql://root@{MY_HOST}/"
INSTALL = "sudo .ci/databases.sh"  # installs, starts and sets the logins


def unique(prefix: str = "cp") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@dataclass
class PgScratch:
    """A scratch database plus roles on the real server; everything is dropped at teardown."""

    admin: psycopg.Connection
    prefix: str
    database: str
    roles: list[str] = field(default_factory=list)
    extra_databases: list[str] = field(default_factory=list)

    def role(self, suffix: str, options: str = "NOLOGIN") -> str:
        name = f"{self.prefix}_{suffix}"
        self.admin.execute(f'CREATE ROLE "{name}" {options}')
        self.roles.append(name)
        return name

    def sql(self, statement: str, database: str | None = None) -> None:
        """Run statements inside the scratch (or another) database as the superuser."""
        with psycopg.connect(_admin_target_dsn(database or self.database), autocommit=True) as conn:
            conn.execute(statement)

    def create_database(self, suffix: str) -> str:
        name = f"{self.prefix}_{suffix}"
        self.admin.execute(f'CREATE DATABASE "{name}"')
        self.extra_databases.append(name)
        return name

    def target(self, user: str = "postgres", name: str = "pg-test", **changes) -> Target:
        target = parse_dsn(f"{name}=postgresql://{user}@{PG_HOST}/{self.database}")
        target.databases = [self.database, *self.extra_databases]
        for key, value in changes.items():
            setattr(target, key, value)
        return target


def _admin_target_dsn(database: str) -> str:
    return f"postgresql://postgres@{PG_HOST}/{database}"


@pytest.fixture
def pg() -> Iterator[PgScratch]:
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        missing("PostgreSQL", INSTALL, f"not reachable at {PG_HOST}: {' '.join(str(exc).split())[:120]}")
    prefix = unique()
    scratch = PgScratch(admin, prefix, f"{prefix}_db")
    admin.execute(f'CREATE DATABASE "{scratch.database}"')
    try:
        yield scratch
    finally:
        for database in [scratch.database, *scratch.extra_databases]:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for role in reversed(scratch.roles):
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()


@dataclass
class MyScratch:
    """A scratch database plus accounts / roles on the real MariaDB; dropped at teardown."""

    admin: pymysql.connections.Connection
    prefix: str
    database: str
    accounts: list[str] = field(default_factory=list)

    def sql(self, *statements: str) -> None:
        with self.admin.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def user(self, suffix: str, spec: str = "IDENTIFIED BY 'not-a-real-secret'", host: str = "%") -> str:
        name = f"{self.prefix}_{suffix}"
        self.sql(f"CREATE USER '{name}'@'{host}' {spec}")
        self.accounts.append(f"'{name}'@'{host}'")
        return name

    def role(self, suffix: str) -> str:
        name = f"{self.prefix}_{suffix}"
        self.sql(f"CREATE ROLE '{name}'")
        self.accounts.append(f"ROLE '{name}'")
        return name

    def target(self, user: str = "root", password: str | None = None, name: str = "my-test") -> Target:
        auth = f"{user}:{password}" if password else user
        return parse_dsn(f"{name}=mysql://{auth}@{MY_HOST}/")


@pytest.fixture
def my() -> Iterator[MyScratch]:
    host, _, port = MY_HOST.partition(":")
    try:
        admin = pymysql.connect(host=host, port=int(port or 3306), user="root", password="", autocommit=True,
                                connect_timeout=3)
    except pymysql.err.MySQLError as exc:
        missing("MariaDB", INSTALL, f"not reachable at {MY_HOST}: {' '.join(str(exc).split())[:120]}")
    prefix = unique()
    scratch = MyScratch(admin, prefix, f"{prefix}_db")
    scratch.sql(f"CREATE DATABASE `{scratch.database}`",
                f"CREATE TABLE `{scratch.database}`.invoices (id INT PRIMARY KEY, amount INT)")
    try:
        yield scratch
    finally:
        with admin.cursor() as cursor:
            for account in reversed(scratch.accounts):
                if account.startswith("ROLE "):
                    cursor.execute(f"DROP ROLE IF EXISTS {account[5:]}")
                else:
                    cursor.execute(f"DROP USER IF EXISTS {account}")
            cursor.execute(f"DROP DATABASE IF EXISTS `{scratch.database}`")
        admin.close()


@dataclass
class Collected:
    """A live run's export folder, its log, and the records the offline collector makes of it."""

    folder: Path
    outcomes: list
    log: dict
    result: CollectResult

    def node(self, node_id: str) -> dict:
        found = [n for n in self.result.nodes if n["id"] == node_id]
        assert found, f"no node {node_id}"
        return found[0]

    def has_node(self, node_id: str) -> bool:
        return any(n["id"] == node_id for n in self.result.nodes)

    def edges(self, kind: str, source: str | None = None, target: str | None = None) -> list[dict]:
        return [e for e in self.result.edges if e["kind"] == kind
                and (source is None or e["source"] == source) and (target is None or e["target"] == target)]

    def permission(self, source: str, target: str) -> dict:
        found = self.edges("HAS_PERMISSION", source, target)
        assert len(found) == 1, f"expected one HAS_PERMISSION {source} -> {target}, got {found}"
        return found[0]


def collect(tmp_path: Path, *targets: Target) -> Collected:
    """Run the live collector on real servers, then read its export like `crosspath scan` does."""
    _, outcomes = collect_databases(list(targets), tmp_path, quiet=True)
    folder = tmp_path / "databases"
    log = json.loads((folder / "collection.json").read_text())
    # every live dump must match the documented format exactly (the schema, not just the transform)
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    for path in folder.glob("*.json"):
        if path.name != "collection.json":
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(json.loads(path.read_text()))]
            assert errors == [], f"{path.name} does not match dump.schema.json: {errors[:3]}"
    return Collected(folder, outcomes, log, collect_offline(folder))


@pytest.fixture(name="collect")
def collect_fixture():
    """`collect(tmp_path, *targets)` as a fixture, so tests need no import from this conftest."""
    return collect
