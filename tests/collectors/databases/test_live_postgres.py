"""Live PostgreSQL collection against the real server: each test sets up grants with SQL, collects
with `crosspath collect databases`' code path, reads the export with the offline collector, and
checks the graph a user would see."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from collectors.databases.read_postgres import connect
from graph.builder import build_graph
from queries.analysis import analyze
from queries.policy import load_policy

SERVER = "postgres:pg-test"


def rid(name: str) -> str:
    return f"{SERVER}/role/{name}"


def table_id(pg, table: str, schema: str = "public") -> str:
    return f"{SERVER}/db/{pg.database}/schema/{schema}/table/{table}"


def test_role_chain_inherits_only_through_inherit_members(pg, collect, tmp_path: Path) -> None:
    writers = pg.role("writers")
    middle = pg.role("middle")
    inheriting = pg.role("inherit_svc", "LOGIN INHERIT PASSWORD 'x'")
    noinherit = pg.role("noinherit_svc", "LOGIN NOINHERIT PASSWORD 'x'")
    pg.sql(f'CREATE TABLE orders (id int); GRANT INSERT, UPDATE ON orders TO "{writers}"')
    pg.admin.execute(f'GRANT "{writers}" TO "{middle}"')
    pg.admin.execute(f'GRANT "{middle}" TO "{inheriting}"')
    pg.admin.execute(f'GRANT "{writers}" TO "{noinherit}" WITH ADMIN OPTION')

    run = collect(tmp_path, pg.target())

    assert run.result.errors == []
    grant = run.permission(rid(writers), table_id(pg, "orders"))
    assert grant["level"] == "write" and grant["actions"] == ["INSERT", "UPDATE"]
    assert run.edges("MEMBER_OF", rid(middle), rid(writers))
    assert run.edges("MEMBER_OF", rid(inheriting), rid(middle))
    assert not run.edges("MEMBER_OF", rid(noinherit), rid(writers))
    assume = run.edges("CAN_ASSUME", rid(noinherit), rid(writers))
    assert assume and "SET ROLE" in assume[0]["via"]
    assert run.edges("CAN_GRANT", rid(noinherit), rid(writers))
    assert run.node(rid(writers))["kind"] == "Group"
    assert run.node(rid(inheriting))["kind"] == "ServiceIdentity"


def test_superuser_and_predefined_role(pg, collect, tmp_path: Path) -> None:
    boss = pg.role("boss", "LOGIN SUPERUSER PASSWORD 'x'")
    loader = pg.role("loader", "LOGIN PASSWORD 'x'")
    pg.admin.execute(f'GRANT pg_write_all_data TO "{loader}"')

    run = collect(tmp_path, pg.target())

    superuser = run.permission(rid(boss), SERVER)
    assert superuser["level"] == "admin" and superuser["actions"] == ["SUPERUSER"]
    assert run.edges("MEMBER_OF", rid(loader), rid("pg_write_all_data"))
    assert run.permission(rid("pg_write_all_data"), SERVER)["level"] == "write"


def test_owner_default_privileges_and_grant_option(pg, collect, tmp_path: Path) -> None:
    owner = pg.role("owner", "LOGIN PASSWORD 'x'")
    reporter = pg.role("reporter", "LOGIN PASSWORD 'x'")
    delegate = pg.role("delegate", "LOGIN PASSWORD 'x'")
    pg.sql(f'CREATE SCHEMA app AUTHORIZATION "{owner}"; SET ROLE "{owner}"; CREATE TABLE app.invoices (id int); '
           f'GRANT SELECT ON app.invoices TO "{reporter}" WITH GRANT OPTION; '
           f'GRANT UPDATE ON app.invoices TO "{delegate}" WITH GRANT OPTION; '
           f'ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT INSERT ON TABLES TO "{reporter}"')

    run = collect(tmp_path, pg.target())

    invoices = table_id(pg, "invoices", "app")
    owned = run.permission(rid(owner), invoices)
    assert owned["level"] == "admin" and "OWNER of TABLE app.invoices" in owned["via"]
    assert run.permission(rid(owner), f"{SERVER}/db/{pg.database}/schema/app")["level"] == "admin"
    # a grantable read stays read; a grantable write is admin (the grantee can hand it on)
    assert run.permission(rid(reporter), invoices)["level"] == "read"
    delegated = run.permission(rid(delegate), invoices)
    assert delegated["level"] == "admin" and delegated["via"].endswith("WITH GRANT OPTION")
    future = run.permission(rid(reporter), f"{SERVER}/db/{pg.database}/schema/app")
    assert future["level"] == "write"
    assert future["conditions"] == [f"applies to tables that {owner} creates from now on"]


def test_password_expiry(pg, collect, tmp_path: Path) -> None:
    expired = pg.role("expired", "LOGIN PASSWORD 'x' VALID UNTIL '2020-01-01 00:00:00+00'")
    forever = pg.role("forever", "LOGIN PASSWORD 'x' VALID UNTIL 'infinity'")
    later = pg.role("later", "LOGIN PASSWORD 'x' VALID UNTIL '2099-06-30 12:00:00+00'")
    unset = pg.role("unset", "LOGIN PASSWORD 'x'")
    reader = pg.role("reader", "LOGIN")

    # a least-privilege collector cannot read pg_hba_file_rules: password sign-in is assumed possible
    run = collect(tmp_path, pg.target(user=reader))

    gone = run.node(rid(expired) + "/password")
    assert gone["expires"] == "2020-01-01T00:00:00Z" and gone["enabled"] is False
    assert run.node(rid(expired))["enabled"] is False
    assert run.node(rid(forever) + "/password")["expires"] is None
    assert run.node(rid(unset) + "/password")["expires"] is None
    assert run.node(rid(later) + "/password")["expires"] == "2099-06-30T12:00:00Z"
    assert run.node(rid(later) + "/password")["enabled"] is True
    for login in (forever, unset):
        assert run.edges("AUTHENTICATES", rid(login) + "/password", rid(login))[0]["mfa"] is False


def test_superuser_collector_sees_passwords_and_hba_rules(pg, collect, tmp_path: Path) -> None:
    with_password = pg.role("withpw", "LOGIN PASSWORD 'x'")
    without = pg.role("nopass", "LOGIN")

    run = collect(tmp_path, pg.target())

    dump = json.loads((run.folder / "pg-test.json").read_text())
    has_password = {row["rolname"]: row["has_password"] for row in dump["roles"]}
    assert has_password[with_password] is True and has_password[without] is False
    assert "rolpassword" not in json.dumps(dump) and "SCRAM-SHA-256$" not in json.dumps(dump)
    assert dump["hba_rules"], "a superuser reads pg_hba_file_rules"
    methods = {rule["auth_method"] for rule in dump["hba_rules"] if rule["type"] != "local"}
    # the password credential exists only where a network rule asks for a password
    password_rule = not methods.isdisjoint({"md5", "scram-sha-256", "password"})
    assert run.has_node(rid(with_password) + "/password") is password_rule
    assert not run.has_node(rid(without) + "/password")
    # a network `trust` rule (this machine's test setup) lets anyone in with no secret: an entry for every login
    if "trust" in methods:
        for login in (with_password, without):
            trust = run.node(rid(login) + "/trust")
            assert trust["empty_password"] is True and trust["expires"] is None
            assert "trust" in run.edges("AUTHENTICATES", rid(login) + "/trust", rid(login))[0]["via"]


def test_human_dba_without_expiry_is_a_no_mfa_finding(pg, collect, tmp_path: Path) -> None:
    dba = pg.role("dba", "LOGIN CREATEROLE PASSWORD 'x'")
    reader = pg.role("reader", "LOGIN")
    target = pg.target(user=reader, environment="prod", identity_hints={"humans": [dba], "machines": []})

    run = collect(tmp_path, target)
    now = datetime.now(UTC)
    analysis = analyze(build_graph([run.result], now).graph, {}, load_policy(None), [], now)

    findings = {f.entry["id"]: f for f in analysis.findings}
    finding = findings[rid(dba) + "/password"]
    assert "NO_MFA" in finding.gap_types
    assert finding.entry["human"] is True and finding.entry["expires"] is None
    assert finding.target["id"] == SERVER and finding.target["level"] == "admin"


def test_session_is_read_only(pg) -> None:
    with connect(pg.target()) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("CREATE TABLE must_not_exist (id int)")


def test_least_privilege_reader_and_database_without_connect(pg, collect, tmp_path: Path) -> None:
    reader = pg.role("reader", "LOGIN PASSWORD 'x'")
    closed = pg.create_database("closed")
    pg.admin.execute(f'REVOKE CONNECT ON DATABASE "{closed}" FROM PUBLIC')
    pg.sql("CREATE TABLE visible (id int)")

    run = collect(tmp_path, pg.target(user=reader))

    dump = (run.folder / "pg-test.json").read_text()
    skipped = {(s["section"], s["database"]) for s in json.loads(dump)["skipped"]}
    assert ("roles.has_password", None) in skipped  # pg_authid is superuser-only
    assert ("hba_rules", None) in skipped
    assert ("privileges", closed) in skipped
    assert run.has_node(table_id(pg, "visible"))
    assert run.result.coverage.status == "partial"
    assert any(f"section privileges ({closed}) not collected" in note for note in run.result.coverage.notes)
    # has_password unknown: every login is assumed to have a password
    assert run.has_node(rid(reader) + "/password")


def test_denied_catalog_fails_that_server_and_the_run_goes_on(pg, collect, tmp_path: Path) -> None:
    reader = pg.role("reader", "LOGIN")
    # catalog ACLs are per database: this only affects the scratch database
    pg.sql("REVOKE SELECT ON pg_catalog.pg_roles FROM PUBLIC")
    locked_out = pg.target(user=reader, name="pg-locked")
    healthy = pg.target(name="pg-test")
    refused = pg.target(name="pg-refused", port=1)

    run = collect(tmp_path, locked_out, refused, healthy)

    status = {o.name: o.status for o in run.outcomes}
    assert status == {"pg-locked": "failed", "pg-refused": "failed", "pg-test": "collected"}
    messages = {o.name: o.message for o in run.outcomes}
    assert "account list is not readable (permission denied for view pg_roles" in messages["pg-locked"]
    assert "Connection refused" in messages["pg-refused"] and ":1/" in messages["pg-refused"]
    problems = {(p["call"], p["scope"]) for p in run.log["problems"]}
    assert ("roles", "pg-locked") in problems and ("connect", "pg-refused") in problems
    assert [p.name for p in sorted(run.folder.glob("*.json"))] == ["collection.json", "pg-test.json"]
    assert run.result.coverage.status == "partial"
    assert run.has_node(SERVER)


def test_iam_authenticated_logins_link_to_cloud_identities(pg, collect, tmp_path: Path) -> None:
    """RDS IAM (member of rds_iam) and Cloud SQL IAM (member of cloudsqliamserviceaccount) logins have no
    password; the first carries the rds-db:connect ARN as alias, the second is FEDERATES_TO from GCP."""
    existing = {row[0] for row in pg.admin.execute(
        "SELECT rolname FROM pg_roles WHERE rolname IN ('rds_iam', 'cloudsqliamserviceaccount')").fetchall()}
    for provider_role in ("rds_iam", "cloudsqliamserviceaccount"):
        if provider_role not in existing:  # cluster-wide names: created for this test only, then dropped
            pg.admin.execute(f"CREATE ROLE {provider_role} NOLOGIN")
            pg.roles.append(provider_role)
    api = pg.role("api", "LOGIN")
    etl = f"{pg.prefix}-etl@lumen-data-prod.iam"
    pg.admin.execute(f'CREATE ROLE "{etl}" LOGIN')
    pg.roles.append(etl)
    pg.admin.execute(f'GRANT rds_iam TO "{api}"')
    pg.admin.execute(f'GRANT cloudsqliamserviceaccount TO "{etl}"')
    links = {"aws_rds_resource_id": "db-TESTRDS1", "aws_region": "eu-west-1", "aws_account_id": "222222222222"}

    run = collect(tmp_path, pg.target(links=links))

    login = run.node(rid(api))
    assert login["auth"] == "aws-iam"
    assert login["aliases"] == [f"aws:arn:aws:rds-db:eu-west-1:222222222222:dbuser:db-TESTRDS1/{api}"]
    assert not run.has_node(rid(api) + "/password")
    federated = run.edges("FEDERATES_TO", f"gcp:serviceAccount/{etl}.gserviceaccount.com", rid(etl))
    assert federated and not run.has_node(rid(etl) + "/password")
