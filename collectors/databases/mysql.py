"""MySQL / MariaDB dump -> records: accounts, passwords, roles, global / db / table grants.

Catalog semantics kept here (docs/database-dump.md explains each):
- an account is `user@host`; a MariaDB role is `role@` (empty host), a MySQL 8 role is an account;
- a granted role is active only when it is a default role (or activate_all_roles_on_login);
  otherwise the user must `SET ROLE`, which is CAN_ASSUME;
- password_lifetime NULL means the global default_password_lifetime, 0 means never.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from collectors.databases.accounts import is_human, is_system_account, login_email, rds_iam_alias
from collectors.databases.output import Transformed, resource_node, server_node
from collectors.databases.privileges import (
    MYSQL_DYNAMIC_ADMIN,
    MYSQL_LEVELS,
    PermissionEdges,
    level_of,
    mysql_row_privileges,
    parse_mysql_set,
    unknown_privileges,
)
from graph.records import edge, node
from graph.schema import EdgeKind, Family
from graph.techniques import References, Technique, register
from graph.times import iso, parse_time

GRANT_WITH_ADMIN_OPTION = register(Technique(
    "mysql.roles.grant-with-admin-option", "Grant a role to anyone, oneself included", "databases",
    EdgeKind.CAN_GRANT, ("the role granted WITH ADMIN OPTION",),
    "an account holding a role WITH ADMIN OPTION can GRANT it to any account, itself included, and make it a "
    "default role, so the role's privileges are one statement away even when the role is not active at login",
    "Grant roles without ADMIN OPTION (REVOKE role FROM account, then GRANT role TO account) except to the "
    "database administrators who manage them.",
    References(mitre="T1098", links=("https://dev.mysql.com/doc/refman/8.0/en/grant.html",))))

PROVIDER = "mysql"
PASSWORD_PLUGINS = frozenset({"", "mysql_native_password", "caching_sha2_password", "sha256_password",
                              "mysql_old_password", "ed25519", "parsec", "authentication_ldap_simple"})
AWS_IAM_PLUGIN = "AWSAuthenticationPlugin"

Account = tuple[str, str]


def _quote(user: str, host: str) -> str:
    return f"'{user}'@'{host}'"


def _unescape_db(pattern: str) -> tuple[str, bool]:
    """mysql.db stores `billing\\_v2`; an unescaped `%` makes the row a pattern over databases."""
    wildcard = "%" in pattern.replace("\\%", "")
    return pattern.replace("\\_", "_").replace("\\%", "%"), wildcard


def _yes(value: Any) -> bool:
    return str(value).upper() in ("Y", "YES", "ON", "1", "TRUE")


class _MySQLTransform:
    def __init__(self, dump: dict[str, Any]):
        self.dump = dump
        self.server = dump["server"]
        self.engine = self.server["engine"]
        self.name = self.server["name"]
        self.server_id = f"mysql:{self.name}"
        self.collected = parse_time(self.server.get("collected_at"))
        self.variables = {row["Variable_name"].lower(): row["Value"] for row in dump["variables"]}
        self.users: dict[Account, dict[str, Any]] = {(row["User"], row["Host"]): row for row in dump["users"]}
        self.out = Transformed()
        self.perms = PermissionEdges()
        self.unknown: set[str] = set()
        self.roles = self._role_accounts()

    def _id(self, account: Account) -> str:
        return f"mysql:{self.name}/user/{account[0]}@{account[1]}"

    def _role_accounts(self) -> set[Account]:
        roles = {acct for acct, row in self.users.items() if row.get("is_role") == "Y"}
        for row in self.dump["role_edges"]:
            if "FROM_USER" in row:
                roles.add((row["FROM_USER"], row["FROM_HOST"]))
            else:
                roles.add((row["Role"], ""))
        return roles

    # -- accounts and passwords ---------------------------------------------------------------
    def _default_lifetime(self) -> int | None:
        value = self.variables.get("default_password_lifetime")
        try:
            return int(value) if value not in (None, "") else None
        except ValueError:
            return None

    def _expiry(self, row: dict[str, Any], changed: datetime | None) -> tuple[datetime | None, int | None]:
        """(expires, lifetime days); lifetime NULL / -1 = the global default, 0 = never."""
        lifetime = row.get("password_lifetime")
        if lifetime is None or lifetime < 0:
            lifetime = self._default_lifetime()
            if lifetime is None:
                self.out.notes.append(f"{self.name}: default_password_lifetime not in the dump; "
                                      f"{row['User']}@{row['Host']} treated as never expiring")
                return None, None
        if lifetime == 0 or changed is None:
            return None, lifetime
        return changed + timedelta(days=lifetime), lifetime

    def accounts(self) -> None:
        hints = self.dump.get("identity_hints")
        for account, row in self.users.items():
            user, host = account
            node_id = self._id(account)
            if account in self.roles:
                self.out.add_node(node(node_id, Family.IDENTITY, "Group", PROVIDER, f"{user}@{host}",
                                       self.server_id, human=False, enabled=None, role=True))
                continue
            self._login(account, row, hints)

    def _login(self, account: Account, row: dict[str, Any], hints: Any) -> None:
        user, host = account
        login_id = self._id(account)
        locked = row.get("account_locked") == "Y"
        plugin = row.get("plugin") or ""
        system = is_system_account(user, self.engine, host, plugin)
        props: dict[str, Any] = {
            "human": is_human(user, hints, self.engine, host, system), "mfa": False, "enabled": not locked,
            "last_used": None, "host": host, "auth_plugin": plugin or None, "system": system,
        }
        props.update(login_email(user, props["human"]))
        iam = plugin == AWS_IAM_PLUGIN
        if iam:
            alias = rds_iam_alias(self.server, user)
            if alias:
                props["aliases"] = [alias]
            else:
                self.out.notes.append(f"{self.name}: {user}@{host} uses {AWS_IAM_PLUGIN} but the dump has no "
                                      "aws_region / aws_account_id / aws_rds_resource_id to name it")
        kind = "User" if props["human"] else "ServiceIdentity"
        self.out.add_node(node(login_id, Family.IDENTITY, kind, PROVIDER, f"{user}@{host}",
                               self.server_id, **props))
        if iam or system or plugin not in PASSWORD_PLUGINS:
            return
        empty = row.get("empty_password") is True
        if row.get("has_password") is False and not empty:
            return  # no usable password (e.g. MariaDB's `invalid` marker)
        changed = parse_time(row.get("password_last_changed"))
        if changed is not None and changed.timestamp() <= 0:
            changed = None  # MariaDB stores 0 for "PASSWORD EXPIRE"
        expires, lifetime = self._expiry(row, changed)
        expired = row.get("password_expired") == "Y" or (
            expires is not None and self.collected is not None and expires <= self.collected)
        cred_id = f"{login_id}/password"
        self.out.add_node(node(
            cred_id, Family.CREDENTIAL, "password", PROVIDER, f"{user}@{host} password", self.server_id,
            created=iso(changed), expires=iso(expires), last_used=None, enabled=not locked and not expired,
            password_lifetime_days=lifetime, empty_password=empty, plugin=plugin or None))
        # an empty password is a credential everybody knows, so it stays an entry
        self.out.edges.append(edge(cred_id, login_id, EdgeKind.AUTHENTICATES,
                                   f"password sign-in ({plugin or 'native'}) as {_quote(user, host)}", mfa=False))

    # -- roles ---------------------------------------------------------------------------------
    def _default_roles(self) -> set[tuple[Account, Account]]:
        defaults = set()
        for row in self.dump.get("default_roles") or []:
            defaults.add(((row["USER"], row["HOST"]), (row["DEFAULT_ROLE_USER"], row["DEFAULT_ROLE_HOST"])))
        for account, row in self.users.items():
            if row.get("default_role"):
                defaults.add((account, (row["default_role"], "")))
        return defaults

    def role_grants(self) -> None:
        defaults = self._default_roles()
        all_active = _yes(self.variables.get("activate_all_roles_on_login", "OFF"))
        grants: list[tuple[Account, Account, bool]] = []
        for row in self.dump["role_edges"]:
            if "FROM_USER" in row:
                grants.append(((row["TO_USER"], row["TO_HOST"]), (row["FROM_USER"], row["FROM_HOST"]),
                               _yes(row.get("WITH_ADMIN_OPTION", "N"))))
            else:
                grants.append(((row["User"], row["Host"]), (row["Role"], ""), _yes(row.get("Admin_option", "N"))))
        for role in self._mandatory_roles():
            for account in self.users:
                if account not in self.roles:
                    grants.append((account, role, False))
        for grantee, role, admin in grants:
            source, target = self._id(grantee), self._id(role)
            via = f"GRANT {_quote(*role)} TO {_quote(*grantee)}"
            # roles granted to roles are always active with the outer role
            active = grantee in self.roles or all_active or (grantee, role) in defaults
            if active:
                self.out.edges.append(edge(source, target, EdgeKind.MEMBER_OF, via + " (active at login)",
                                           mfa_required=False))
            else:
                self.out.edges.append(edge(source, target, EdgeKind.CAN_ASSUME,
                                           via + f" (needs SET ROLE {role[0]})", mfa_required=False))
            if admin:
                self.out.edges.append(edge(source, target, EdgeKind.CAN_GRANT, via + " WITH ADMIN OPTION",
                                           mfa_required=False, techniques=[GRANT_WITH_ADMIN_OPTION.id]))

    def _mandatory_roles(self) -> list[Account]:
        value = self.variables.get("mandatory_roles") or ""
        roles = []
        for item in value.split(","):
            item = item.strip().replace("`", "").replace("'", "")
            if item:
                user, _, host = item.partition("@")
                roles.append((user, host or "%"))
        return roles

    # -- grants --------------------------------------------------------------------------------
    def _db_node(self, db: str) -> str:
        node_id = f"mysql:{self.name}/db/{db}"
        if not self.out.has(node_id):
            self.out.add_node(resource_node(node_id, "database", PROVIDER, db, self.server_id))
        return node_id

    def _table_node(self, db: str, table: str) -> str:
        db_id = self._db_node(db)
        node_id = f"{db_id}/table/{table}"
        if not self.out.has(node_id):
            self.out.add_node(resource_node(node_id, "table", PROVIDER, f"{db}.{table}", self.server_id,
                                            database=db, parent=db_id))
        return node_id

    def _grant(self, account: Account, target: str, privileges: list[str], all_granted: bool,
               on: str) -> None:
        if account not in self.users and account not in self.roles:
            self.out.notes.append(f"{self.name}: grant on {on} to unknown account {_quote(*account)} skipped")
            return
        grant_option = "GRANT OPTION" in privileges
        names = [p for p in privileges if p != "GRANT OPTION"]
        if not names:
            return
        self.unknown.update(unknown_privileges(names, MYSQL_LEVELS))
        level = "admin" if all_granted else level_of(names, MYSQL_LEVELS, grant_option)
        shown = "ALL PRIVILEGES" if all_granted else ", ".join(names)
        via = f"GRANT {shown} ON {on} TO {_quote(*account)}" + (" WITH GRANT OPTION" if grant_option else "")
        actions = ["ALL PRIVILEGES"] if all_granted else names
        self.perms.add(self._id(account), target, level, actions + (["GRANT OPTION"] if grant_option else []),
                       via)

    def global_privileges(self) -> None:
        for account, row in self.users.items():
            privileges, all_granted = mysql_row_privileges(row)
            self._grant(account, self.server_id, privileges, all_granted, "*.*")
        for row in self.dump.get("global_grants") or []:
            priv = row["PRIV"].upper()
            level = "admin" if priv in MYSQL_DYNAMIC_ADMIN else None
            if level is None:
                continue
            account = (row["USER"], row["HOST"])
            if account in self.users or account in self.roles:
                self.perms.add(self._id(account), self.server_id, level, [priv],
                               f"GRANT {priv} ON *.* TO {_quote(*account)}")

    def db_privileges(self) -> None:
        for row in self.dump["db_privileges"]:
            db, wildcard = _unescape_db(row["Db"])
            if db == "%":
                target, on = self.server_id, "`%`.*"
            else:
                target, on = self._db_node(db), f"`{row['Db']}`.*"
                if wildcard:
                    self.out.notes.append(f"{self.name}: database pattern {row['Db']!r} kept as one database node")
            privileges, all_granted = mysql_row_privileges(row)
            self._grant((row["User"], row["Host"]), target, privileges, all_granted, on)

    def table_privileges(self) -> None:
        for row in self.dump["table_privileges"]:
            db, _ = _unescape_db(row["Db"])
            target = self._table_node(db, row["Table_name"])
            on = f"{db}.{row['Table_name']}"
            account = (row["User"], row["Host"])
            self._grant(account, target, parse_mysql_set(row["Table_priv"]), False, on)
            columns = [p for p in parse_mysql_set(row.get("Column_priv")) if p != "GRANT OPTION"]
            if columns:
                self._grant(account, target, columns, False, f"columns of {on}")

    def run(self) -> Transformed:
        self.out.add_node(server_node(self.server_id, PROVIDER, self.server))
        self.accounts()
        self.role_grants()
        self.global_privileges()
        self.db_privileges()
        self.table_privileges()
        self.out.edges.extend(self.perms.records())
        if self.unknown:
            self.out.notes.append(f"{self.name}: unknown privileges counted as write: "
                                  f"{', '.join(sorted(self.unknown))}")
        return self.out


def transform_mysql(dump: dict[str, Any]) -> Transformed:
    """Records for one validated MySQL / MariaDB dump."""
    return _MySQLTransform(dump).run()
