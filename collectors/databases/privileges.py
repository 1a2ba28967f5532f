"""Native database privileges -> read / write / admin, and HAS_PERMISSION edges merged per target.

One grantee often holds several privileges on one object (from GRANT, ownership and defaults);
the graph wants one explainable edge per (grantee, object), so grants are accumulated here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.records import Record, edge
from graph.schema import LEVEL_RANK, EdgeKind

MAX_ACTIONS = 10

# PostgreSQL privilege_type values from aclexplode() (PG 9.x - 17).
POSTGRES_LEVELS: dict[str, str] = {
    "SELECT": "read",
    "USAGE": "read",
    "CONNECT": "read",
    "EXECUTE": "read",
    # temporary tables vanish with the session: no persistent data changes
    "TEMPORARY": "read",
    "INSERT": "write",
    "UPDATE": "write",
    "DELETE": "write",
    "TRUNCATE": "write",
    "REFERENCES": "write",
    "TRIGGER": "write",
    "CREATE": "write",
    "MAINTAIN": "write",
    "SET": "write",
    "ALTER SYSTEM": "admin",
    "OWNER": "admin",
    "SUPERUSER": "admin",
    "CREATEROLE": "admin",
    "ALL": "admin",
}

# MySQL / MariaDB privilege names as GRANT spells them.
MYSQL_LEVELS: dict[str, str] = {
    "USAGE": "read",
    "SELECT": "read",
    "SHOW VIEW": "read",
    "SHOW DATABASES": "read",
    "EXECUTE": "read",
    "PROCESS": "read",
    "LOCK TABLES": "read",
    "CREATE TEMPORARY TABLES": "read",
    # replication privileges stream every row of every table
    "REPLICATION CLIENT": "read",
    "REPLICATION SLAVE": "read",
    "BINLOG MONITOR": "read",
    "SLAVE MONITOR": "read",
    "INSERT": "write",
    "UPDATE": "write",
    "DELETE": "write",
    "CREATE": "write",
    "DROP": "write",
    "ALTER": "write",
    "INDEX": "write",
    "REFERENCES": "write",
    "TRIGGER": "write",
    "CREATE VIEW": "write",
    "CREATE ROUTINE": "write",
    "ALTER ROUTINE": "write",
    "EVENT": "write",
    "DELETE HISTORY": "write",
    "RELOAD": "write",
    "SHUTDOWN": "write",
    "CREATE TABLESPACE": "write",
    "CREATE ROLE": "write",
    "DROP ROLE": "write",
    # FILE reads and writes server files; CREATE USER can change any account's password
    "FILE": "admin",
    "CREATE USER": "admin",
    "SUPER": "admin",
    "ALL PRIVILEGES": "admin",
    "ALL": "admin",
}

# Dynamic privileges (MySQL 8 mysql.global_grants) that hand out control of the server.
MYSQL_DYNAMIC_ADMIN = frozenset(
    {"ROLE_ADMIN", "SYSTEM_USER", "SYSTEM_VARIABLES_ADMIN", "SET_USER_ID", "SET_ANY_DEFINER",
     "PERSIST_RO_VARIABLES_ADMIN", "ENCRYPTION_KEY_ADMIN"}
)

# mysql.user / mysql.db column -> privilege name, where the column name is not just the name.
_MYSQL_COLUMN_NAMES = {
    "Grant_priv": "GRANT OPTION",
    "Repl_slave_priv": "REPLICATION SLAVE",
    "Repl_client_priv": "REPLICATION CLIENT",
    "Create_tmp_table_priv": "CREATE TEMPORARY TABLES",
    "Show_db_priv": "SHOW DATABASES",
    "Lock_tables_priv": "LOCK TABLES",
    "Delete_history_priv": "DELETE HISTORY",
}

# mysql.tables_priv Table_priv / Column_priv set members -> privilege name.
_MYSQL_SET_NAMES = {"GRANT": "GRANT OPTION", "DELETE VERSIONING ROWS": "DELETE HISTORY"}


def highest(levels: list[str] | set[str]) -> str | None:
    return max(levels, key=LEVEL_RANK.__getitem__) if levels else None


def level_of(privileges: list[str], table: dict[str, str], grant_option: bool = False) -> str | None:
    """Highest level of the privileges; unknown ones count as write so nothing new is missed.

    GRANT OPTION only raises the level when it delegates write: passing SELECT on is still read.
    """
    levels = {table.get(p.upper(), "write") for p in privileges if p.upper() != "GRANT OPTION"}
    level = highest(levels)
    if grant_option and level == "write":
        return "admin"
    return level


def unknown_privileges(privileges: list[str], table: dict[str, str]) -> list[str]:
    return sorted({p for p in privileges if p.upper() not in table and p.upper() != "GRANT OPTION"})


def mysql_column_privilege(column: str) -> str | None:
    """`Insert_priv` -> `INSERT`; None for a column that is not a privilege flag."""
    if not column.endswith("_priv") or column in ("Table_priv", "Column_priv", "Proc_priv"):
        return None
    if column in _MYSQL_COLUMN_NAMES:
        return _MYSQL_COLUMN_NAMES[column]
    return column[: -len("_priv")].replace("_", " ").upper()


# Privilege columns every mysql.db / mysql.user row has (MySQL 5.7+, MariaDB 10.x).
_MYSQL_CORE_COLUMNS = frozenset(
    f"{name}_priv" for name in (
        "Select", "Insert", "Update", "Delete", "Create", "Drop", "References", "Index", "Alter",
        "Create_tmp_table", "Lock_tables", "Create_view", "Show_view", "Create_routine", "Alter_routine",
        "Execute", "Event", "Trigger")
)


def mysql_row_privileges(row: dict) -> tuple[list[str], bool]:
    """Privileges a mysql.user / mysql.db row grants (`Y` columns, or a `privileges` list).

    Returns (privileges, all_granted): all_granted is True when every privilege column of a full
    row is `Y`, which is how GRANT ALL PRIVILEGES is stored.
    """
    if isinstance(row.get("global_privileges"), list) or isinstance(row.get("privileges"), list):
        listed = row.get("global_privileges") or row.get("privileges") or []
        names = [str(p).upper() for p in listed]
        return names, "ALL PRIVILEGES" in names or "ALL" in names
    granted: list[str] = []
    complete = _MYSQL_CORE_COLUMNS <= row.keys()
    for column, value in row.items():
        name = mysql_column_privilege(column)
        if name is None:
            continue
        if str(value).upper() == "Y":
            granted.append(name)
        elif name != "GRANT OPTION":
            complete = False
    return granted, complete


def parse_mysql_set(value: str | None) -> list[str]:
    """Parse a SET column such as `Select,Insert,Show view` -> ['SELECT', 'INSERT', 'SHOW VIEW']."""
    if not value:
        return []
    names = []
    for item in str(value).split(","):
        item = item.strip().upper()
        if item:
            names.append(_MYSQL_SET_NAMES.get(item, item))
    return names


@dataclass
class _Grant:
    level: str
    actions: set[str] = field(default_factory=set)
    vias: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)


class PermissionEdges:
    """Accumulates grants into one HAS_PERMISSION edge per (grantee, resource)."""

    def __init__(self) -> None:
        self._grants: dict[tuple[str, str], _Grant] = {}

    def add(
        self,
        source: str,
        target: str,
        level: str,
        actions: list[str],
        via: str,
        conditions: list[str] | None = None,
    ) -> None:
        grant = self._grants.get((source, target))
        if grant is None:
            grant = self._grants[(source, target)] = _Grant(level)
        elif LEVEL_RANK[level] > LEVEL_RANK[grant.level]:
            grant.level = level
        grant.actions.update(actions)
        if via not in grant.vias:
            grant.vias.append(via)
        for condition in conditions or []:
            if condition not in grant.conditions:
                grant.conditions.append(condition)

    def has_source(self, source: str) -> bool:
        return any(src == source for src, _ in self._grants)

    def records(self) -> list[Record]:
        out = []
        for (source, target), grant in self._grants.items():
            props: dict = {"level": grant.level, "actions": sorted(grant.actions)[:MAX_ACTIONS]}
            if grant.conditions:
                props["conditions"] = grant.conditions
            out.append(edge(source, target, EdgeKind.HAS_PERMISSION, "; ".join(grant.vias), **props))
        return out
