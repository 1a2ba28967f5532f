"""PostgreSQL dump -> records: roles, passwords, memberships, grants, ownership.

Catalog semantics kept here (docs/database-dump.md explains each):
- a member gains a role's privileges only when it inherits (rolinherit, or PG16 inherit_option);
  otherwise it must `SET ROLE`, which is CAN_ASSUME;
- PUBLIC is a pseudo-role every role belongs to;
- pg_database_owner (PG14+) stands for the owner of the current database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from collectors.databases.accounts import (
    cloudsql_iam_principal,
    is_human,
    login_email,
    managed_logins,
    rds_iam_alias,
)
from collectors.databases.output import Transformed, resource_node, server_node
from collectors.databases.privileges import POSTGRES_LEVELS, PermissionEdges, level_of, unknown_privileges
from graph.records import edge, node
from graph.schema import EdgeKind, Family
from graph.techniques import References, Technique, register
from graph.times import iso, parse_time

GRANT_WITH_ADMIN_OPTION = register(Technique(
    "postgres.roles.grant-with-admin-option", "Grant a role to anyone, oneself included", "databases",
    EdgeKind.CAN_GRANT, ("membership in the role WITH ADMIN OPTION",),
    "a member holding ADMIN OPTION on a role can GRANT that role to any role, so it can give itself the "
    "role's privileges even where its own membership does not inherit them",
    "Revoke ADMIN OPTION (REVOKE ADMIN OPTION FOR role FROM member) from everyone but the role's owner "
    "team; grant application logins plain membership.",
    References(mitre="T1098", links=("https://www.postgresql.org/docs/current/sql-grant.html",))))

PROVIDER = "postgres"
PUBLIC = "PUBLIC"

# Predefined / provider roles whose membership is itself a server-wide grant.
SERVER_ROLES: dict[str, tuple[str, str]] = {
    "pg_read_all_data": ("read", "SELECT on every table (predefined role pg_read_all_data)"),
    "pg_write_all_data": ("write", "INSERT, UPDATE, DELETE on every table (predefined role pg_write_all_data)"),
    "pg_read_server_files": ("read", "read any server file (predefined role pg_read_server_files)"),
    "pg_write_server_files": ("admin", "write any server file (predefined role pg_write_server_files)"),
    "pg_execute_server_program": ("admin", "run programs as the server OS user (pg_execute_server_program)"),
    "rds_superuser": ("admin", "RDS master role rds_superuser"),
    "cloudsqlsuperuser": ("admin", "Cloud SQL administrative role cloudsqlsuperuser"),
    "azure_pg_admin": ("admin", "Azure administrative role azure_pg_admin"),
}
RDS_IAM_ROLE = "rds_iam"
CLOUDSQL_IAM_ROLES = {"cloudsqliamuser": False, "cloudsqliamserviceaccount": True}
PASSWORD_HBA_METHODS = frozenset({"md5", "scram-sha-256", "password"})
_OBJECT_KINDS = ("table", "sequence", "function")


def _role_id(server: str, role: str) -> str:
    return f"postgres:{server}/role/{role}"


def _object_id(server: str, database: str, schema: str | None, kind: str, name: str | None) -> str:
    db_id = f"postgres:{server}/db/{database}"
    if kind == "database":
        return db_id
    if kind == "schema":
        return f"{db_id}/schema/{name or schema}"
    return f"{db_id}/schema/{schema}/{kind}/{name}"


def _object_label(kind: str, database: str, schema: str | None, name: str | None) -> str:
    if kind == "database":
        return f"DATABASE {database}"
    if kind == "schema":
        return f"SCHEMA {name or schema}"
    return f"{kind.upper()} {schema}.{name}"


def _closure(memberships: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Every role each role belongs to, directly or through other roles."""
    direct: dict[str, set[str]] = {}
    for row in memberships:
        direct.setdefault(row["member"], set()).add(row["role"])
    closed: dict[str, set[str]] = {}
    for member, roles in direct.items():
        seen, stack = set(), list(roles)
        while stack:
            role = stack.pop()
            if role not in seen:
                seen.add(role)
                stack.extend(direct.get(role, ()))
        closed[member] = seen
    return closed


def _valid_until(value: Any) -> tuple[datetime | None, bool]:
    """(expiry, recorded): 'infinity' and NULL both mean no expiry."""
    if value in (None, "", "infinity"):
        return None, False
    return parse_time(value), True


def _hba_rules_for(rules: list[dict[str, Any]] | None, login: str, groups: set[str]) -> list[dict[str, Any]] | None:
    """The network (non-`local`) pg_hba rules that name this login; None when the rules are unknown.

    pg_hba takes the first rule matching the client's address, so different clients may meet different
    rules: every rule that names the login counts.
    """
    if not rules:
        return None
    matching = []
    for rule in rules:
        if rule.get("error") or rule.get("type") == "local":
            continue
        users = rule.get("user_name") or []
        if "all" in users or login in users or any(u.startswith("+") and u[1:] in groups for u in users):
            matching.append(rule)
    return matching


class _PostgresTransform:
    def __init__(self, dump: dict[str, Any]):
        self.dump = dump
        self.server = dump["server"]
        self.name = self.server["name"]
        self.server_id = f"postgres:{self.name}"
        self.collected = parse_time(self.server.get("collected_at"))
        self.roles = {row["rolname"]: row for row in dump["roles"]}
        self.member_of = _closure(dump["memberships"])
        self.db_owner = {row["datname"]: row["owner"] for row in dump["databases"]}
        self.out = Transformed()
        self.perms = PermissionEdges()
        self.unknown: set[str] = set()

    # -- identities ---------------------------------------------------------------------------
    def roles_and_logins(self) -> None:
        hints = self.dump.get("identity_hints")
        managed = managed_logins("postgresql")
        for name, row in self.roles.items():
            groups = self.member_of.get(name, set())
            system = name.startswith("pg_") or name in managed or name in SERVER_ROLES or (
                name.startswith("rds") and not row["rolcanlogin"])
            if not row["rolcanlogin"]:
                self.out.add_node(node(_role_id(self.name, name), Family.IDENTITY, "Group", PROVIDER, name,
                                       self.server_id, human=False, enabled=None, system=system,
                                       superuser=row["rolsuper"]))
                continue
            self._login(name, row, groups, hints, system)

    def _login(self, name: str, row: dict[str, Any], groups: set[str], hints: Any, system: bool) -> None:
        expiry, recorded = _valid_until(row.get("rolvaliduntil"))
        expired = expiry is not None and self.collected is not None and expiry <= self.collected
        enabled = not expired
        iam_sa = next((CLOUDSQL_IAM_ROLES[g] for g in groups if g in CLOUDSQL_IAM_ROLES), None)
        rds_iam = RDS_IAM_ROLE in groups
        if iam_sa is not None:
            human = not iam_sa
        else:
            human = is_human(name, hints, "postgresql")
        props: dict[str, Any] = {
            "human": human, "mfa": False, "enabled": enabled, "last_used": None,
            "superuser": row["rolsuper"], "system": system,
            "valid_until": iso(expiry) if recorded else None, **login_email(name, human),
        }
        login_id = _role_id(self.name, name)
        if rds_iam:
            props["auth"] = "aws-iam"
            alias = rds_iam_alias(self.server, name)
            if alias:
                props["aliases"] = [alias]
            else:
                self.out.notes.append(f"{self.name}: {name} uses RDS IAM authentication but the dump has no "
                                      "aws_region / aws_account_id / aws_rds_resource_id to name it")
        elif iam_sa is not None:
            props["auth"] = "gcp-iam"
        else:
            props["auth"] = "password"
        kind = "User" if human else "ServiceIdentity"
        self.out.add_node(node(login_id, Family.IDENTITY, kind, PROVIDER, name, self.server_id, **props))
        if iam_sa is not None:
            principal = cloudsql_iam_principal(name, iam_sa)
            self.out.edges.append(edge(
                principal, login_id, EdgeKind.FEDERATES_TO,
                f"Cloud SQL IAM database authentication ({self.server.get('gcp_cloudsql_instance') or self.name})",
                mfa_required=False,
                conditions=["the principal also needs roles/cloudsql.instanceUser on the instance's project"]))
        if rds_iam or iam_sa is not None or name in managed_logins("postgresql"):
            return
        hba = _hba_rules_for(self.dump.get("hba_rules"), name, groups)
        trust = [rule for rule in hba or [] if rule.get("auth_method") == "trust"]
        if trust:
            self._trust_credential(name, login_id, trust[0])
        if row.get("has_password") is False:
            return
        if hba is not None and not any(rule.get("auth_method") in PASSWORD_HBA_METHODS for rule in hba):
            self.out.notes.append(f"{self.name}: no pg_hba rule accepts a password for {name}; no password credential")
            return
        cred_id = f"{login_id}/password"
        self.out.add_node(node(cred_id, Family.CREDENTIAL, "password", PROVIDER, f"{name} password",
                               self.server_id, created=None, expires=iso(expiry), last_used=None,
                               enabled=enabled, password_known=row.get("has_password")))
        self.out.edges.append(edge(cred_id, login_id, EdgeKind.AUTHENTICATES,
                                   f"password sign-in as PostgreSQL role {name}", mfa=False))

    def _trust_credential(self, name: str, login_id: str, rule: dict[str, Any]) -> None:
        """A network `trust` rule lets anyone who reaches the port sign in as the login with no secret:
        an entry everybody holds, which never expires (like an empty MySQL password)."""
        where = f"{rule.get('type')} {rule.get('address') or 'any address'}"
        cred_id = f"{login_id}/trust"
        self.out.add_node(node(cred_id, Family.CREDENTIAL, "password", PROVIDER, f"{name} (pg_hba trust: no password)",
                               self.server_id, created=None, expires=None, last_used=None, enabled=True,
                               empty_password=True, auth_method="trust"))
        self.out.edges.append(edge(cred_id, login_id, EdgeKind.AUTHENTICATES,
                                   f"pg_hba.conf line {rule.get('line_number')}: {where} trust (no password "
                                   f"asked) for {name}", mfa=False))

    def memberships(self) -> None:
        for row in self.dump["memberships"]:
            role, member = row["role"], row["member"]
            member_row = self.roles.get(member, {})
            inherits = row.get("inherit_option")
            if inherits is None:
                inherits = member_row.get("rolinherit", True)
            can_set = row.get("set_option")
            can_set = True if can_set is None else can_set
            source, target = _role_id(self.name, member), _role_id(self.name, role)
            grant = f"GRANT {role} TO {member}"
            if inherits:
                self.out.edges.append(edge(source, target, EdgeKind.MEMBER_OF, grant, mfa_required=False))
            elif can_set:
                self.out.edges.append(edge(source, target, EdgeKind.CAN_ASSUME,
                                           f"{grant} (no inherit: privileges need SET ROLE {role})",
                                           mfa_required=False))
            if row.get("admin_option"):
                self.out.edges.append(edge(source, target, EdgeKind.CAN_GRANT, f"{grant} WITH ADMIN OPTION",
                                           mfa_required=False, techniques=[GRANT_WITH_ADMIN_OPTION.id]))

    # -- resources and grants -----------------------------------------------------------------
    def _resource(self, kind: str, database: str, schema: str | None, name: str | None) -> str:
        node_id = _object_id(self.name, database, schema, kind, name)
        if not self.out.has(node_id):
            db_id = _object_id(self.name, database, None, "database", None)
            if kind != "database":
                self._resource("database", database, None, None)
            if kind in _OBJECT_KINDS:
                self._resource("schema", database, schema, None)
            label = {"database": database, "schema": f"{database}.{name or schema}"}.get(kind, f"{schema}.{name}")
            parent = {} if kind == "database" else {"database": database, "parent": db_id}
            self.out.add_node(resource_node(node_id, kind, PROVIDER, label, self.server_id, **parent))
        return node_id

    def _grantee(self, grantee: str) -> str | None:
        if grantee == PUBLIC:
            return _role_id(self.name, PUBLIC)
        if grantee not in self.roles:
            self.out.notes.append(f"{self.name}: grant to unknown role {grantee!r} skipped")
            return None
        return _role_id(self.name, grantee)

    def server_grants(self) -> None:
        for name, row in self.roles.items():
            role_id = _role_id(self.name, name)
            if row["rolsuper"]:
                self.perms.add(role_id, self.server_id, "admin", ["SUPERUSER"], f"{name} has SUPERUSER")
            if row.get("rolcreaterole"):
                self.perms.add(role_id, self.server_id, "admin", ["CREATEROLE"], f"{name} has CREATEROLE")
            if row.get("rolreplication"):
                self.perms.add(role_id, self.server_id, "read", ["REPLICATION"],
                               f"{name} has REPLICATION (can stream every table)")
            if name in SERVER_ROLES:
                level, via = SERVER_ROLES[name]
                self.perms.add(role_id, self.server_id, level, [name.upper()], via)

    def databases(self) -> None:
        for row in self.dump["databases"]:
            if row.get("datistemplate"):
                continue
            db_id = self._resource("database", row["datname"], None, None)
            self.perms.add(_role_id(self.name, row["owner"]), db_id, "admin", ["OWNER"],
                           f"OWNER of DATABASE {row['datname']}")

    def ownership(self) -> None:
        for row in self.dump["ownership"]:
            if row["database"] not in self.db_owner:
                continue
            owner, via = row["owner"], ""
            if owner == "pg_database_owner":
                owner = self.db_owner[row["database"]]
                via = f" via pg_database_owner (owner of database {row['database']})"
            target = self._resource(row["object_type"], row["database"], row["schema"], row["object"])
            label = _object_label(row["object_type"], row["database"], row["schema"], row["object"])
            self.perms.add(_role_id(self.name, owner), target, "admin", ["OWNER"], f"OWNER of {label}{via}")

    def privileges(self) -> None:
        grouped: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self.dump["privileges"]:
            if row["database"] not in self.db_owner:
                continue
            grantee = shown = row["grantee"]
            if grantee == "pg_database_owner":
                grantee = self.db_owner[row["database"]]
                shown = f"pg_database_owner (= {grantee}, owner of database {row['database']})"
            source = self._grantee(grantee)
            if source is None:
                continue
            target = self._resource(row["object_type"], row["database"], row["schema"], row["object"])
            label = _object_label(row["object_type"], row["database"], row["schema"], row["object"])
            entry = grouped.setdefault((source, target), {"label": label, "grantee": shown, "privs": {}})
            entry["privs"][row["privilege_type"].upper()] = bool(row["is_grantable"])
        for (source, target), entry in grouped.items():
            privs: dict[str, bool] = entry["privs"]
            self.unknown.update(unknown_privileges(list(privs), POSTGRES_LEVELS))
            level = level_of(list(privs), POSTGRES_LEVELS)
            write_grantable = any(g and POSTGRES_LEVELS.get(p, "write") != "read" for p, g in privs.items())
            if write_grantable:
                level = "admin"
            via = f"GRANT {', '.join(sorted(privs))} ON {entry['label']} TO {entry['grantee']}"
            if any(privs.values()):
                via += " WITH GRANT OPTION"
            self.perms.add(source, target, level, sorted(privs), via)

    def default_privileges(self) -> None:
        grouped: dict[tuple[str, str, str, str, str], dict[str, bool]] = {}
        for row in self.dump.get("default_privileges") or []:
            if row["database"] not in self.db_owner:
                continue
            key = (row["role"], row["database"], row["schema"] or "", row["object_type"], row["grantee"])
            grouped.setdefault(key, {})[row["privilege_type"].upper()] = bool(row["is_grantable"])
        for (role, database, schema, object_type, grantee), privs in grouped.items():
            source = self._grantee(grantee)
            if source is None:
                continue
            if schema:
                target = self._resource("schema", database, schema, None)
            else:
                target = self._resource("database", database, None, None)
            level = level_of(list(privs), POSTGRES_LEVELS, any(privs.values()))
            where = f" IN SCHEMA {schema}" if schema else ""
            via = (f"ALTER DEFAULT PRIVILEGES FOR ROLE {role}{where} GRANT {', '.join(sorted(privs))} "
                   f"ON {object_type.upper()} TO {grantee} (database {database})")
            self.perms.add(source, target, level, sorted(privs), via,
                           [f"applies to {object_type} that {role} creates from now on"])

    def public_role(self) -> None:
        """PUBLIC exists only as a grantee; every role holds what PUBLIC is granted."""
        public_id = _role_id(self.name, PUBLIC)
        if not self.perms.has_source(public_id):
            return
        self.out.add_node(node(public_id, Family.IDENTITY, "Group", PROVIDER, PUBLIC, self.server_id,
                               human=False, enabled=None, system=True))
        for name in self.roles:
            self.out.edges.append(edge(_role_id(self.name, name), public_id, EdgeKind.MEMBER_OF,
                                       "every role is a member of PUBLIC", mfa_required=False))

    def run(self) -> Transformed:
        self.out.add_node(server_node(self.server_id, PROVIDER, self.server))
        self.roles_and_logins()
        self.memberships()
        self.server_grants()
        self.databases()
        self.ownership()
        self.privileges()
        self.default_privileges()
        self.public_role()
        self.out.edges.extend(self.perms.records())
        if self.unknown:
            self.out.notes.append(f"{self.name}: unknown privilege types counted as write: "
                                  f"{', '.join(sorted(self.unknown))}")
        return self.out


def transform_postgres(dump: dict[str, Any]) -> Transformed:
    """Records for one validated PostgreSQL dump."""
    return _PostgresTransform(dump).run()
