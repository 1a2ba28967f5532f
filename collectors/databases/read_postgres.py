"""Read one PostgreSQL server into a `crosspath-db-dump` (the queries of docs/database-dump.md).

Every session is read-only (`default_transaction_read_only`, set at connect time) and runs in
autocommit, so one denied catalog read does not abort the others. Cluster-wide sections come
from the first connection; per-database sections from one connection per database the login
may CONNECT to. No query returns `rolpassword`: `has_password` is computed inside the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from collectors.databases.servers import Target

_USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' "
                 "AND n.nspname NOT LIKE 'pg\\_temp\\_%'")
_GRANTEE = "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END"
_GRANTOR = "pg_catalog.pg_get_userbyid(a.grantor)"

ROLES = """
SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
       r.rolreplication, r.rolbypassrls, r.rolconnlimit,
       CASE WHEN r.rolvaliduntil IS NULL THEN NULL
            WHEN r.rolvaliduntil = 'infinity' THEN 'infinity'
            ELSE to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') END AS rolvaliduntil,
       NULL::boolean AS has_password
FROM pg_catalog.pg_roles r
ORDER BY r.rolname"""

HAS_PASSWORD = "SELECT a.rolname, a.rolpassword IS NOT NULL AS has_password FROM pg_catalog.pg_authid a"

MEMBERSHIPS = """
SELECT r.rolname AS role, m.rolname AS member, g.rolname AS grantor, am.admin_option{pg16}
FROM pg_catalog.pg_auth_members am
JOIN pg_catalog.pg_roles r ON r.oid = am.roleid
JOIN pg_catalog.pg_roles m ON m.oid = am.member
LEFT JOIN pg_catalog.pg_roles g ON g.oid = am.grantor
ORDER BY 1, 2"""

DATABASES = """
SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba) AS owner, d.datistemplate, d.datallowconn,
       d.datacl::text[] AS datacl,
       pg_catalog.has_database_privilege(d.datname, 'CONNECT') AS can_connect
FROM pg_catalog.pg_database d
ORDER BY d.datname"""

DATABASE_PRIVILEGES = f"""
SELECT 'database' AS object_type, d.datname AS database, NULL AS schema, d.datname AS object,
       {_GRANTOR} AS grantor, {_GRANTEE} AS grantee, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_database d,
     LATERAL aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a
WHERE NOT d.datistemplate
ORDER BY 2, 6, 7"""

OBJECT_PRIVILEGES = f"""
SELECT 'schema' AS object_type, current_database() AS database, n.nspname AS schema, n.nspname AS object,
       {_GRANTOR} AS grantor, {_GRANTEE} AS grantee, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_namespace n,
     LATERAL aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a
WHERE {_USER_SCHEMAS}
UNION ALL
SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, current_database(), n.nspname, c.relname,
       {_GRANTOR}, {_GRANTEE}, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
     LATERAL aclexplode(COALESCE(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char",
                                                      c.relowner))) a
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND {_USER_SCHEMAS}
UNION ALL
SELECT 'function', current_database(), n.nspname,
       p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
       {_GRANTOR}, {_GRANTEE}, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace,
     LATERAL aclexplode(COALESCE(p.proacl, acldefault('f', p.proowner))) a
WHERE {_USER_SCHEMAS}
ORDER BY 1, 3, 4, 6, 7"""

OWNERSHIP = f"""
SELECT 'schema' AS object_type, current_database() AS database, n.nspname AS schema, n.nspname AS object,
       pg_catalog.pg_get_userbyid(n.nspowner) AS owner
FROM pg_catalog.pg_namespace n WHERE {_USER_SCHEMAS}
UNION ALL
SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, current_database(), n.nspname, c.relname,
       pg_catalog.pg_get_userbyid(c.relowner)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND {_USER_SCHEMAS}
UNION ALL
SELECT 'function', current_database(), n.nspname,
       p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
       pg_catalog.pg_get_userbyid(p.proowner)
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER_SCHEMAS}
ORDER BY 1, 3, 4"""

DEFAULT_PRIVILEGES = f"""
SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS role, current_database() AS database, n.nspname AS schema,
       CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                            WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' END AS object_type,
       {_GRANTEE} AS grantee, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_default_acl d
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace,
     LATERAL aclexplode(d.defaclacl) a
ORDER BY 1, 3, 4, 5, 6"""

HBA_RULES = """
SELECT line_number, type, database, user_name, address, netmask, auth_method, error
FROM pg_catalog.pg_hba_file_rules
ORDER BY line_number"""

# Failures of one query that leave the rest of the server readable.
READ_ERRORS = (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedTable)
# Sections without which a dump would mislead (no roles = no identities); a denial fails the server.
CORE_SECTIONS = ("roles",)

Denied = Callable[[str, str | None, BaseException], None]


def one_line(error: BaseException) -> str:
    """A driver message on one line; PyMySQL's `(code, message)` becomes `message (error code)`."""
    args = getattr(error, "args", ())
    if len(args) == 2 and isinstance(args[0], int):
        text = f"{args[1]} (error {args[0]})"
    else:
        text = str(error)
    return " ".join(text.split())[:400] or type(error).__name__


def connect(target: Target, database: str | None = None) -> psycopg.Connection:
    """A read-only autocommit session. Raises psycopg errors (the caller reports them)."""
    kwargs: dict[str, Any] = {
        "host": target.host, "port": target.port, "dbname": database or target.database or "postgres",
        "connect_timeout": int(target.params.get("connect_timeout", 10)), "application_name": "crosspath",
        "options": "-c default_transaction_read_only=on",
    }
    if target.user:
        kwargs["user"] = target.user
    if target.password is not None:
        kwargs["password"] = target.password
    tls = target.tls
    if tls.mode:
        kwargs["sslmode"] = tls.mode
    for key, value in (("sslrootcert", tls.ca), ("sslcert", tls.cert), ("sslkey", tls.key)):
        if value:
            kwargs[key] = value
    # other URL parameters pass to libpq (e.g. `host=/run/postgresql` for a socket directory)
    kwargs.update({k: v for k, v in target.params.items() if k not in ("connect_timeout", "options")})
    conn = psycopg.connect(autocommit=True, row_factory=dict_row, **kwargs)
    conn.read_only = True  # belt and braces: psycopg also refuses to start a writing transaction
    return conn


def _rows(conn: psycopg.Connection, sql: str) -> list[dict[str, Any]]:
    with conn.cursor() as cursor:
        cursor.execute(sql)
        return [dict(row) for row in cursor.fetchall()]


class PostgresReader:
    """Collects the dump sections of one server; denied reads go to `skipped` and to `denied`."""

    def __init__(self, target: Target, denied: Denied):
        self.target = target
        self.denied = denied
        self.skipped: list[dict[str, Any]] = []

    def _try(self, conn: psycopg.Connection, section: str, sql: str, database: str | None = None
             ) -> list[dict[str, Any]] | None:
        try:
            return _rows(conn, sql)
        except READ_ERRORS as exc:
            self.skipped.append({"section": section, "database": database, "reason": one_line(exc)})
            self.denied(section, database, exc)
            return None

    def read(self) -> dict[str, Any] | None:
        """The engine sections plus `server.version` and `skipped`; None when roles are unreadable."""
        with connect(self.target) as conn:
            version = conn.execute("SHOW server_version").fetchone()["server_version"]
            version_num = conn.info.server_version
            roles = self._try(conn, "roles", ROLES)
            if roles is None:
                return None
            self._merge_has_password(conn, roles)
            pg16 = ", am.inherit_option, am.set_option" if version_num >= 160000 else ""
            dump: dict[str, Any] = {
                "version": version,
                "roles": roles,
                "memberships": self._try(conn, "memberships", MEMBERSHIPS.format(pg16=pg16)) or [],
                "databases": self._try(conn, "databases", DATABASES) or [],
                "privileges": self._try(conn, "privileges", DATABASE_PRIVILEGES) or [],
                "ownership": [],
                "default_privileges": [],
            }
            hba = self._try(conn, "hba_rules", HBA_RULES)
            if hba is not None:
                dump["hba_rules"] = hba
        for database in self._databases(dump["databases"]):
            self._read_database(dump, database)
        for row in dump["databases"]:
            row.pop("can_connect", None)
        dump["skipped"] = self.skipped
        return dump

    def _merge_has_password(self, conn: psycopg.Connection, roles: list[dict[str, Any]]) -> None:
        readable = conn.execute("SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS ok").fetchone()
        if not readable["ok"]:
            self.skipped.append({"section": "roles.has_password", "database": None,
                                 "reason": "permission denied for table pg_authid (superuser only)"})
            return
        known = {row["rolname"]: row["has_password"] for row in _rows(conn, HAS_PASSWORD)}
        for row in roles:
            row["has_password"] = known.get(row["rolname"])

    def _databases(self, databases: list[dict[str, Any]]) -> list[str]:
        """Databases to enter: not templates, connectable, CONNECT granted, in the config's list if any."""
        wanted = set(self.target.databases) if self.target.databases else None
        chosen = []
        for row in databases:
            name = row["datname"]
            if row["datistemplate"] or (wanted is not None and name not in wanted):
                continue
            if not row["datallowconn"] or not row.get("can_connect", True):
                reason = "database does not allow connections" if not row["datallowconn"] else \
                    f"no CONNECT on database {name}"
                self.skipped.append({"section": "privileges", "database": name, "reason": reason})
                continue
            chosen.append(name)
        return chosen

    def _read_database(self, dump: dict[str, Any], database: str) -> None:
        try:
            conn = connect(self.target, database)
        except psycopg.OperationalError as exc:
            self.skipped.append({"section": "privileges", "database": database, "reason": one_line(exc)})
            self.denied("connect", database, exc)
            return
        with conn:
            for section, sql in (("privileges", OBJECT_PRIVILEGES), ("ownership", OWNERSHIP),
                                 ("default_privileges", DEFAULT_PRIVILEGES)):
                dump[section].extend(self._try(conn, section, sql, database) or [])
