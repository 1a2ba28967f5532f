"""Read one MySQL 8 / MariaDB 10.4+ server into a `crosspath-db-dump` (docs/database-dump.md).

The session is `READ ONLY` with UTC timestamps. No query returns `authentication_string`: the
server compares it (`<> ''`) and returns booleans. MariaDB keeps password metadata in the JSON of
`mysql.global_priv`; a boolean there reads back through JSON_VALUE as `1`, not `true`.
"""

from __future__ import annotations

import ssl
from typing import Any

import pymysql
import pymysql.cursors

from collectors.databases.read_postgres import Denied, one_line
from collectors.databases.servers import Target

_GLOBAL_FLAGS = (
    "Select_priv, Insert_priv, Update_priv, Delete_priv, Create_priv, Drop_priv, Reload_priv, Shutdown_priv, "
    "Process_priv, File_priv, Grant_priv, References_priv, Index_priv, Alter_priv, Show_db_priv, Super_priv, "
    "Create_tmp_table_priv, Lock_tables_priv, Execute_priv, Repl_slave_priv, Repl_client_priv, "
    "Create_view_priv, Show_view_priv, Create_routine_priv, Alter_routine_priv, Create_user_priv, "
    "Event_priv, Trigger_priv, Create_tablespace_priv"
)

MYSQL_USERS = f"""
SELECT User, Host, plugin,
       authentication_string <> '' AS has_password,
       authentication_string = '' AS empty_password,
       password_expired,
       DATE_FORMAT(password_last_changed, '%Y-%m-%d %H:%i:%s') AS password_last_changed,
       password_lifetime, account_locked,
       {_GLOBAL_FLAGS}, Create_role_priv, Drop_role_priv
FROM mysql.user
ORDER BY User, Host"""

MARIADB_USERS = f"""
SELECT u.User, u.Host,
       CASE WHEN JSON_VALUE(g.Priv, '$.authentication_string') = 'invalid'
                 AND JSON_VALUE(g.Priv, '$.auth_or[1].plugin') IS NOT NULL
            THEN JSON_VALUE(g.Priv, '$.auth_or[1].plugin') ELSE u.plugin END AS plugin,
       COALESCE(JSON_VALUE(g.Priv, '$.authentication_string'), '') NOT IN ('', 'invalid') AS has_password,
       COALESCE(JSON_VALUE(g.Priv, '$.authentication_string'), '') = '' AS empty_password,
       u.password_expired,
       DATE_FORMAT(FROM_UNIXTIME(NULLIF(JSON_VALUE(g.Priv, '$.password_last_changed'), 0)),
                   '%Y-%m-%d %H:%i:%s') AS password_last_changed,
       NULLIF(CAST(JSON_VALUE(g.Priv, '$.password_lifetime') AS SIGNED), -1) AS password_lifetime,
       IF(COALESCE(JSON_VALUE(g.Priv, '$.account_locked'), '0') IN ('1', 'true'), 'Y', 'N') AS account_locked,
       u.is_role, u.default_role,
       {', '.join('u.' + flag.strip() for flag in _GLOBAL_FLAGS.split(','))}, u.Delete_history_priv
FROM mysql.user u
JOIN mysql.global_priv g ON g.User = u.User AND g.Host = u.Host
ORDER BY u.User, u.Host"""

VARIABLES = """
SHOW GLOBAL VARIABLES WHERE Variable_name IN
  ('default_password_lifetime', 'activate_all_roles_on_login', 'mandatory_roles', 'disconnect_on_expired_password')"""

DB_PRIVILEGES = "SELECT * FROM mysql.db ORDER BY Db, User, Host"

TABLE_PRIVILEGES = """
SELECT Host, Db, User, Table_name, Grantor, DATE_FORMAT(Timestamp, '%Y-%m-%d %H:%i:%s') AS Timestamp,
       CAST(Table_priv AS CHAR) AS Table_priv, CAST(Column_priv AS CHAR) AS Column_priv
FROM mysql.tables_priv
ORDER BY Db, Table_name, User, Host"""

MYSQL_ROLE_EDGES = ("SELECT FROM_HOST, FROM_USER, TO_HOST, TO_USER, WITH_ADMIN_OPTION FROM mysql.role_edges "
                    "ORDER BY TO_USER, TO_HOST, FROM_USER")
MARIADB_ROLE_EDGES = "SELECT Host, User, Role, Admin_option FROM mysql.roles_mapping ORDER BY User, Host, Role"
DEFAULT_ROLES = ("SELECT HOST, USER, DEFAULT_ROLE_HOST, DEFAULT_ROLE_USER FROM mysql.default_roles "
                 "ORDER BY USER, HOST")
GLOBAL_GRANTS = "SELECT USER, HOST, PRIV, WITH_GRANT_OPTION FROM mysql.global_grants ORDER BY USER, HOST, PRIV"

# 1142 table access denied, 1143 column denied, 1044 / 1045 db / access denied, 1227 needs a privilege,
# 1146 no such table (MySQL 5.7 has no role tables), 1356 view references an unreadable table
READ_ERROR_CODES = frozenset({1044, 1142, 1143, 1146, 1227, 1356})
_BOOLEAN_COLUMNS = ("has_password", "empty_password")


def _ssl_context(target: Target) -> ssl.SSLContext | None:
    tls = target.tls
    if tls.mode in (None, "disable", "prefer") and not (tls.ca or tls.cert):
        return None
    context = ssl.create_default_context(cafile=tls.ca) if tls.ca else ssl.create_default_context()
    if tls.mode == "require" or (tls.mode is None and not tls.ca):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif tls.mode == "verify-ca":
        context.check_hostname = False
    if tls.cert:
        context.load_cert_chain(tls.cert, tls.key)
    return context


def connect(target: Target) -> pymysql.connections.Connection:
    """A READ ONLY session with UTC timestamps. Raises pymysql errors (the caller reports them)."""
    conn = pymysql.connect(
        host=target.host, port=target.port, user=target.user or "", password=target.password or "",
        database=target.database or None, connect_timeout=int(target.params.get("connect_timeout", 10)),
        ssl=_ssl_context(target), cursorclass=pymysql.cursors.DictCursor, autocommit=True,
        charset="utf8mb4", program_name="crosspath", unix_socket=target.params.get("unix_socket"),
    )
    with conn.cursor() as cursor:
        cursor.execute("SET SESSION time_zone = '+00:00'")
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
    return conn


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, bytes | bytearray):
            value = value.decode("utf-8", "replace")
        if key in _BOOLEAN_COLUMNS and value is not None:
            value = bool(value)
        out[key] = value
    return out


class MySQLReader:
    """Collects the dump sections of one MySQL / MariaDB server; denied reads go to `skipped`."""

    def __init__(self, target: Target, denied: Denied):
        self.target = target
        self.denied = denied
        self.skipped: list[dict[str, Any]] = []

    def _try(self, conn: pymysql.connections.Connection, section: str, sql: str) -> list[dict[str, Any]] | None:
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                return [_clean(row) for row in cursor.fetchall()]
        except (pymysql.err.OperationalError, pymysql.err.ProgrammingError) as exc:
            if not exc.args or exc.args[0] not in READ_ERROR_CODES:
                raise
            self.skipped.append({"section": section, "database": None, "reason": one_line(exc)})
            self.denied(section, None, exc)
            return None

    def read(self) -> dict[str, Any] | None:
        """Engine sections plus `engine`, `version` and `skipped`; None when accounts are unreadable."""
        with connect(self.target) as conn:
            with conn.cursor() as cursor:
                cursor.execute("SELECT VERSION() AS version")
                version = cursor.fetchone()["version"]
            mariadb = "mariadb" in version.lower()
            users = self._try(conn, "users", MARIADB_USERS if mariadb else MYSQL_USERS)
            if users is None:
                return None
            dump: dict[str, Any] = {
                "engine": "mariadb" if mariadb else "mysql",
                "version": version,
                "users": users,
                "variables": self._try(conn, "variables", VARIABLES) or [],
                "db_privileges": self._try(conn, "db_privileges", DB_PRIVILEGES) or [],
                "table_privileges": self._try(conn, "table_privileges", TABLE_PRIVILEGES) or [],
                "role_edges": self._try(conn, "role_edges", MARIADB_ROLE_EDGES if mariadb else MYSQL_ROLE_EDGES)
                or [],
            }
            if not mariadb:
                for section, sql in (("default_roles", DEFAULT_ROLES), ("global_grants", GLOBAL_GRANTS)):
                    rows = self._try(conn, section, sql)
                    if rows is not None:
                        dump[section] = rows
        for row in dump["variables"]:
            row["Value"] = "" if row["Value"] is None else str(row["Value"])
        dump["skipped"] = self.skipped
        return dump
