"""Live MariaDB / MySQL collection against the real server: accounts, password lifetimes, roles,
WITH GRANT OPTION, admin privileges, least-privilege reading and failures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pymysql
import pytest

from collectors.databases.read_mysql import connect

SERVER = "mysql:my-test"


def uid(user: str, host: str = "%") -> str:
    return f"{SERVER}/user/{user}@{host}"


def test_accounts_passwords_and_lifetimes(my, collect, tmp_path: Path) -> None:
    app = my.user("app", "IDENTIFIED BY 'not-a-real-secret' PASSWORD EXPIRE NEVER")
    rotating = my.user("rotating", "IDENTIFIED BY 'not-a-real-secret' PASSWORD EXPIRE INTERVAL 30 DAY")
    locked = my.user("locked", "IDENTIFIED BY 'not-a-real-secret' ACCOUNT LOCK")
    socket = my.user("socket", "IDENTIFIED VIA unix_socket", host="localhost")
    empty = my.user("empty", "")
    my.sql(f"GRANT INSERT, UPDATE ON `{my.database}`.* TO '{app}'@'%'")

    run = collect(tmp_path, my.target())

    assert run.result.errors == []
    assert run.node(SERVER)["engine"] == "mariadb"
    password = run.node(uid(app) + "/password")
    assert password["expires"] is None and password["enabled"] is True and password["created"]
    assert password["password_lifetime_days"] == 0
    rotated = run.node(uid(rotating) + "/password")
    assert rotated["password_lifetime_days"] == 30 and rotated["expires"] > rotated["created"]
    assert run.node(uid(locked))["enabled"] is False
    assert run.node(uid(locked) + "/password")["enabled"] is False
    assert run.has_node(uid(socket, "localhost")) and not run.has_node(uid(socket, "localhost") + "/password")
    assert run.node(uid(empty) + "/password")["empty_password"] is True
    grant = run.permission(uid(app), f"{SERVER}/db/{my.database}")
    assert grant["level"] == "write" and grant["via"] == f"GRANT INSERT, UPDATE ON `{my.database}`.* TO '{app}'@'%'"
    assert run.edges("AUTHENTICATES", uid(app) + "/password", uid(app))[0]["mfa"] is False


def test_dump_never_holds_password_hashes(my, collect, tmp_path: Path) -> None:
    my.user("hashcheck", "IDENTIFIED BY 'not-a-real-secret'")

    run = collect(tmp_path, my.target())

    text = (run.folder / "my-test.json").read_text()
    assert "authentication_string" not in text and "not-a-real-secret" not in text
    assert not re.search(r"\*[0-9A-F]{40}", text), "a mysql_native_password hash leaked into the dump"


def test_grant_option_and_admin_privileges(my, collect, tmp_path: Path) -> None:
    delegate = my.user("delegate")
    reader = my.user("reader")
    boss = my.user("boss")
    operator = my.user("operator")
    invoices = f"`{my.database}`.invoices"
    my.sql(f"GRANT SELECT, INSERT ON {invoices} TO '{delegate}'@'%' WITH GRANT OPTION",
           f"GRANT SELECT ON {invoices} TO '{reader}'@'%' WITH GRANT OPTION",
           f"GRANT ALL PRIVILEGES ON *.* TO '{boss}'@'%'",
           f"GRANT SUPER ON *.* TO '{operator}'@'%'")

    run = collect(tmp_path, my.target())

    table = f"{SERVER}/db/{my.database}/table/invoices"
    delegated = run.permission(uid(delegate), table)
    assert delegated["level"] == "admin" and delegated["via"].endswith("WITH GRANT OPTION")
    assert run.permission(uid(reader), table)["level"] == "read"
    everything = run.permission(uid(boss), SERVER)
    assert everything["level"] == "admin" and everything["actions"] == ["ALL PRIVILEGES"]
    assert run.permission(uid(operator), SERVER)["level"] == "admin"


def test_roles_default_role_and_admin_option(my, collect, tmp_path: Path) -> None:
    writer = my.role("writer")
    inner = my.role("inner")
    active = my.user("active")
    dormant = my.user("dormant")
    manager = my.user("manager")
    my.sql(f"GRANT INSERT, DELETE ON `{my.database}`.invoices TO '{inner}'",
           f"GRANT '{inner}' TO '{writer}'",
           f"GRANT '{writer}' TO '{active}'@'%'",
           f"SET DEFAULT ROLE '{writer}' FOR '{active}'@'%'",
           f"GRANT '{writer}' TO '{dormant}'@'%'",
           f"GRANT '{writer}' TO '{manager}'@'%' WITH ADMIN OPTION")

    run = collect(tmp_path, my.target())

    role = f"{SERVER}/user/{writer}@"
    assert run.node(role)["kind"] == "Group" and not run.has_node(role + "/password")
    assert run.edges("MEMBER_OF", uid(active), role)
    assert run.edges("MEMBER_OF", role, f"{SERVER}/user/{inner}@"), "a role granted to a role is always active"
    assume = run.edges("CAN_ASSUME", uid(dormant), role)
    assert assume and "SET ROLE" in assume[0]["via"]
    assert run.edges("CAN_GRANT", uid(manager), role)
    assert run.permission(f"{SERVER}/user/{inner}@", f"{SERVER}/db/{my.database}/table/invoices")["level"] == "write"


def test_session_is_read_only(my) -> None:
    conn = connect(my.target())
    try:
        with conn.cursor() as cursor, pytest.raises(pymysql.err.MySQLError) as raised:
            cursor.execute(f"INSERT INTO `{my.database}`.invoices VALUES (1, 1)")
        assert raised.value.args[0] == 1792  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
    finally:
        conn.close()


def test_documented_minimal_grants_are_enough(my, collect, tmp_path: Path) -> None:
    reader = my.user("reader", "IDENTIFIED BY 'reader-secret'", host="127.0.0.1")
    for table in ("user", "global_priv", "db", "tables_priv", "roles_mapping"):
        my.sql(f"GRANT SELECT ON mysql.{table} TO '{reader}'@'127.0.0.1'")
    app = my.user("app")

    run = collect(tmp_path, my.target(user=reader, password="reader-secret"))

    assert [o.status for o in run.outcomes] == ["collected"], run.log["problems"]
    assert run.has_node(uid(app) + "/password")
    assert "reader-secret" not in (run.folder / "my-test.json").read_text()
    assert "reader-secret" not in (run.folder / "collection.json").read_text()


def test_denied_reads_fail_that_server_and_the_run_goes_on(my, collect, tmp_path: Path) -> None:
    nobody = my.user("nobody", "IDENTIFIED BY 'nobody-secret'", host="127.0.0.1")
    partial = my.user("partial", "IDENTIFIED BY 'partial-secret'", host="127.0.0.1")
    for table in ("user", "global_priv", "db"):
        my.sql(f"GRANT SELECT ON mysql.{table} TO '{partial}'@'127.0.0.1'")

    run = collect(tmp_path, my.target(user=nobody, password="nobody-secret", name="my-nobody"),
                  my.target(user="root", password="wrong", name="my-badpass"),
                  my.target(user=partial, password="partial-secret", name="my-partial"),
                  my.target(name="my-test"))

    status = {o.name: o.status for o in run.outcomes}
    assert status == {"my-nobody": "failed", "my-badpass": "failed", "my-partial": "partial",
                      "my-test": "collected"}
    messages = {o.name: o.message for o in run.outcomes}
    assert "account list is not readable (SELECT command denied" in messages["my-nobody"]
    assert "Access denied" in messages["my-badpass"] and "wrong" not in messages["my-badpass"]
    assert "root:***@" in messages["my-badpass"]
    dump = json.loads((run.folder / "my-partial.json").read_text())
    assert {s["section"] for s in dump["skipped"]} == {"table_privileges", "role_edges"}
    problems = {(p["call"], p["scope"]) for p in run.log["problems"]}
    assert ("users", "my-nobody") in problems and ("role_edges", "my-partial") in problems
    assert run.has_node("mysql:my-test") and run.has_node("mysql:my-partial")
    assert run.result.coverage.status == "partial"
    assert "secret" not in json.dumps(run.log)
