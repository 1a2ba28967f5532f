"""Database grants collector: dump format, PostgreSQL and MySQL/MariaDB transforms, samples."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from collectors.base import SourceFileError
from collectors.databases import collect_offline, transform_mysql, transform_postgres
from collectors.databases.dump_format import SCHEMA_PATH, validate_dump
from collectors.databases.privileges import parse_mysql_set
from graph.records import RecordOrigin, validate_records
from tests.graph_helpers import environments

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "databases"
PG = "postgres:orders-prod"
MY = "mysql:billing-prod"
RDS_ALIAS = "aws:arn:aws:rds-db:us-east-1:111111111111:dbuser:db-ORDERSPROD7K2Q/reporting_app"


def load(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


def by_id(records) -> dict[str, dict]:
    return {r["id"]: r for r in records.nodes}


def edges(records, kind: str, source: str | None = None, target: str | None = None) -> list[dict]:
    return [e for e in records.edges if e["kind"] == kind
            and (source is None or e["source"] == source) and (target is None or e["target"] == target)]


def permission(records, source: str, target: str) -> dict:
    found = edges(records, "HAS_PERMISSION", source, target)
    assert len(found) == 1, f"expected one HAS_PERMISSION {source} -> {target}, got {found}"
    return found[0]


def pg_role(name: str, **attrs: Any) -> dict[str, Any]:
    row = {"rolname": name, "rolsuper": False, "rolinherit": True, "rolcreaterole": False,
           "rolcreatedb": False, "rolcanlogin": False, "rolreplication": False, "rolbypassrls": False,
           "rolvaliduntil": None, "has_password": None}
    row.update(attrs)
    return row


def pg_dump(roles: list[dict], **sections: Any) -> dict[str, Any]:
    dump = {
        "format": "crosspath-db-dump", "version": 1,
        "server": {"name": "pg1", "engine": "postgresql", "version": "16.4", "environment": "prod",
                   "collected_at": "2026-11-01T00:00:00Z"},
        "roles": roles, "memberships": [], "databases": [{"datname": "app", "owner": "owner_app"}],
        "privileges": [], "ownership": [],
    }
    dump.update(sections)
    validate_dump(dump, "pg1.json")
    return dump


def my_user(user: str, host: str = "%", **attrs: Any) -> dict[str, Any]:
    row = {"User": user, "Host": host, "plugin": "mysql_native_password", "has_password": True,
           "empty_password": False, "password_expired": "N", "password_last_changed": "2026-01-01 00:00:00",
           "password_lifetime": None, "account_locked": "N", "Select_priv": "N", "Insert_priv": "N",
           "Super_priv": "N", "Grant_priv": "N"}
    row.update(attrs)
    return row


def my_dump(users: list[dict], default_lifetime: str = "0", engine: str = "mysql", **sections: Any) -> dict:
    dump = {
        "format": "crosspath-db-dump", "version": 1,
        "server": {"name": "my1", "engine": engine, "version": "8.0.39", "environment": "prod",
                   "collected_at": "2026-11-01T00:00:00Z"},
        "users": users,
        "variables": [{"Variable_name": "default_password_lifetime", "Value": default_lifetime}],
        "db_privileges": [], "table_privileges": [], "role_edges": [],
    }
    dump.update(sections)
    validate_dump(dump, "my1.json")
    return dump


# -- the sample organisation ------------------------------------------------------------------

def test_samples_load_completely_and_validate_as_records() -> None:
    result = collect_offline(SAMPLES)
    assert result.errors == []
    assert result.coverage.status == "complete"
    assert sorted(result.coverage.scopes) == [MY, PG]
    assert len(result.coverage.files) == 2
    checked = validate_records(result.nodes, result.edges, RecordOrigin("databases"))
    assert checked.errors == []
    assert result.coverage.counts["nodes.server"] == 2
    assert any("pg_hba_file_rules" in note for note in result.coverage.notes)


def test_schema_accepts_both_samples() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    for name in ("orders-prod.json", "billing-prod.json"):
        assert list(validator.iter_errors(load(name))) == []
        assert validate_dump(load(name), name) == []


def test_sample_entries_reaching_prod_write() -> None:
    """Which sample credentials authenticate a login that holds write/admin (directly or via a role)."""
    result = collect_offline(SAMPLES)
    nodes = by_id(result)
    writers = {e["source"] for e in result.edges
               if e["kind"] == "HAS_PERMISSION" and e["level"] in ("write", "admin")}
    parents: dict[str, set[str]] = {}
    for e in result.edges:
        if e["kind"] == "MEMBER_OF":
            parents.setdefault(e["source"], set()).add(e["target"])

    def reaches(identity: str) -> bool:
        return identity in writers or any(reaches(p) for p in parents.get(identity, ()))

    live = sorted(e["source"] for e in edges(result, "AUTHENTICATES")
                  if nodes[e["source"]]["enabled"] and reaches(e["target"]))
    assert live == [
        f"{MY}/user/app_billing@%/password",
        f"{MY}/user/app_reports@%/password",
        f"{PG}/role/app_orders/password",
        f"{PG}/role/dba_maria/password",
    ]


def test_system_accounts_are_not_entries() -> None:
    nodes = by_id(collect_offline(SAMPLES))
    for login in (f"{PG}/role/rdsadmin", f"{MY}/user/mysql@localhost", f"{MY}/user/mariadb.sys@localhost"):
        assert nodes[login]["human"] is False
        assert f"{login}/password" not in nodes
    # the RDS master user is kept but expired (rolvaliduntil in the past)
    assert nodes[f"{PG}/role/postgres"]["enabled"] is False
    assert nodes[f"{PG}/role/postgres/password"]["enabled"] is False
    assert nodes[f"{PG}/role/postgres/password"]["expires"] == "2025-06-30T00:00:00Z"
    assert nodes[f"{MY}/user/root@localhost/password"]["enabled"] is False


# -- bad input --------------------------------------------------------------------------------

def test_wrong_version_fails_that_file_only(tmp_path: Path) -> None:
    good = load("billing-prod.json")
    bad = load("orders-prod.json")
    bad["version"] = 2
    (tmp_path / "a.json").write_text(json.dumps(bad))
    (tmp_path / "b.json").write_text(json.dumps(good))
    result = collect_offline(tmp_path)
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.file.endswith("a.json") and error.field == "version"
    assert "version 1" in error.message
    assert result.coverage.scopes == [MY]
    assert result.coverage.status == "partial"


@pytest.mark.parametrize(("sample", "section"), [("orders-prod.json", "privileges"),
                                                  ("billing-prod.json", "role_edges")])
def test_missing_section_names_file_and_field(tmp_path: Path, sample: str, section: str) -> None:
    dump = load(sample)
    del dump[section]
    (tmp_path / "x.json").write_text(json.dumps(dump))
    result = collect_offline(tmp_path)
    assert [(e.field, Path(e.file).name) for e in result.errors] == [(section, "x.json")]
    assert result.coverage.status == "failed"


def test_malformed_row_is_skipped_and_named(tmp_path: Path) -> None:
    dump = load("orders-prod.json")
    index = next(i for i, r in enumerate(dump["roles"]) if r["rolname"] == "readonly_bi")
    dump["roles"][index]["rolcanlogin"] = "yes"
    (tmp_path / "x.json").write_text(json.dumps(dump))
    result = collect_offline(tmp_path)
    assert len(result.errors) == 1
    assert (result.errors[0].record, result.errors[0].field) == (f"roles[{index}]", "rolcanlogin")
    ids = by_id(result)
    assert f"{PG}/role/readonly_bi" not in ids
    assert f"{PG}/role/dba_maria/password" in ids


@pytest.mark.parametrize("section, index, field, value", [
    ("roles", 0, "rolsuper", "t"),
    ("privileges", 3, "is_grantable", None),
    ("memberships", 0, "role", 7),
    ("databases", 0, "datname", ""),
])
def test_fast_and_detailed_validation_agree(section: str, index: int, field: str, value: Any) -> None:
    """The compiled fast check must reject whatever the detailed validator names (else rows slip through)."""
    from collectors.databases import dump_format

    dump = load("orders-prod.json")
    assert dump_format._fast_check()(copy.deepcopy(dump)) is True
    dump[section][index][field] = value
    assert dump_format._fast_check()(copy.deepcopy(dump)) is False
    errors = validate_dump(dump, "x.json")
    assert [(e.record, e.field) for e in errors] == [(f"{section}[{index}]", field)]


def test_invalid_json_and_foreign_json(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "other.json").write_text(json.dumps({"Users": []}))
    result = collect_offline(tmp_path)
    assert sorted((Path(e.file).name, e.field) for e in result.errors) == [("broken.json", ""),
                                                                           ("other.json", "format")]
    assert "line 1" in result.errors[0].message or "line 1" in result.errors[1].message
    assert result.coverage.status == "failed"


def test_loads_without_jsonschema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """jsonschema is a dev extra: without it the header and section checks still run."""
    from collectors.databases import dump_format

    monkeypatch.setattr(dump_format, "_validator", lambda: None)
    dump = load("billing-prod.json")
    del dump["users"]
    (tmp_path / "bad.json").write_text(json.dumps(dump))
    (tmp_path / "good.json").write_text(json.dumps(load("orders-prod.json")))
    result = collect_offline(tmp_path)
    assert [e.field for e in result.errors] == ["users"]
    assert result.coverage.scopes == [PG]


def test_empty_folder_is_missing(tmp_path: Path) -> None:
    assert collect_offline(tmp_path).coverage.status == "missing"


def test_bad_server_field_fails_the_file() -> None:
    dump = load("orders-prod.json")
    dump["server"]["aws_account_id"] = "1111"
    with pytest.raises(SourceFileError) as raised:
        validate_dump(dump, "orders-prod.json")
    assert raised.value.error.field == "server.aws_account_id"


# -- secrets ----------------------------------------------------------------------------------

def test_password_hashes_never_reach_records(tmp_path: Path) -> None:
    pg = load("orders-prod.json")
    for row in pg["roles"]:
        row["rolpassword"] = "SCRAM-SHA-256$4096:c2FsdHNhbHQ=$secretpg"
    my = load("billing-prod.json")
    for row in my["users"]:
        row["authentication_string"] = "*6C387FC3893DBA1E3BA155E74754DA6682D04747"
        row["Password"] = "*6C387FC3893DBA1E3BA155E74754DA6682D04747"
    (tmp_path / "pg.json").write_text(json.dumps(pg))
    (tmp_path / "my.json").write_text(json.dumps(my))
    result = collect_offline(tmp_path)
    assert result.errors == []
    text = json.dumps([result.nodes, result.edges])
    for secret in ("secretpg", "6C387FC3893DBA1E", "authentication_string", "rolpassword"):
        assert secret not in text
    assert sum("password-hash" in note for note in result.coverage.notes) == 2


# -- PostgreSQL transform ---------------------------------------------------------------------

def test_pg_sample_grants() -> None:
    records = transform_postgres(load("orders-prod.json"))
    table = f"{PG}/db/orders/schema/public/table/orders"
    assert permission(records, f"{PG}/role/reporting_app", table)["level"] == "write"
    assert set(permission(records, f"{PG}/role/reporting_app", table)["actions"]) == {"INSERT", "SELECT", "UPDATE"}
    assert "GRANT INSERT, SELECT, UPDATE ON TABLE public.orders TO reporting_app" in permission(
        records, f"{PG}/role/reporting_app", table)["via"]
    assert permission(records, f"{PG}/role/readonly_bi", table)["level"] == "read"
    owner = permission(records, f"{PG}/role/app_orders", table)
    assert owner["level"] == "admin" and "OWNER of TABLE public.orders" in owner["via"]
    assert permission(records, f"{PG}/role/app_orders", f"{PG}/db/orders")["level"] == "admin"
    # PG15 public schema belongs to pg_database_owner = the database owner
    schema = permission(records, f"{PG}/role/app_orders", f"{PG}/db/orders/schema/public")
    assert schema["level"] == "admin" and "pg_database_owner" in schema["via"]
    assert permission(records, f"{PG}/role/rds_superuser", PG)["level"] == "admin"
    assert edges(records, "MEMBER_OF", f"{PG}/role/dba_maria", f"{PG}/role/rds_superuser")
    nodes = by_id(records)
    # the table inherits the server's stated environment through its scope
    assert environments(records.nodes)(table) == "prod" and nodes[table]["scope"] == PG
    assert nodes[f"{PG}/role/dba_maria"]["kind"] == "User" and nodes[f"{PG}/role/dba_maria"]["mfa"] is False
    assert nodes[f"{PG}/role/app_orders"]["kind"] == "ServiceIdentity"
    assert nodes[f"{PG}/role/readonly_bi"]["kind"] == "ServiceIdentity"  # from identity_hints


def test_pg_rds_iam_login_gets_alias_and_no_password() -> None:
    nodes = by_id(transform_postgres(load("orders-prod.json")))
    assert nodes[f"{PG}/role/reporting_app"]["aliases"] == [RDS_ALIAS]
    assert f"{PG}/role/reporting_app/password" not in nodes
    assert nodes[f"{PG}/role/dba_maria/password"]["expires"] is None


def test_pg_rds_iam_without_aws_links_is_noted() -> None:
    dump = load("orders-prod.json")
    dump["server"]["aws_region"] = None
    records = transform_postgres(dump)
    assert "aliases" not in by_id(records)[f"{PG}/role/reporting_app"]
    assert any("reporting_app" in note for note in records.notes)


def test_pg_superuser_is_admin_on_server() -> None:
    records = transform_postgres(pg_dump([pg_role("boss", rolsuper=True, rolcanlogin=True)]))
    edge = permission(records, "postgres:pg1/role/boss", "postgres:pg1")
    assert edge["level"] == "admin" and edge["actions"] == ["SUPERUSER"]


def test_pg_valid_until_sets_expiry_and_disables_expired_login() -> None:
    records = transform_postgres(pg_dump([
        pg_role("svc_future", rolcanlogin=True, rolvaliduntil="2027-01-31 00:00:00+00"),
        pg_role("svc_past", rolcanlogin=True, rolvaliduntil="2026-10-31T23:59:59Z"),
        pg_role("svc_forever", rolcanlogin=True, rolvaliduntil="infinity"),
        pg_role("svc_nopass", rolcanlogin=True, has_password=False),
    ]))
    nodes = by_id(records)
    future = nodes["postgres:pg1/role/svc_future/password"]
    assert future["expires"] == "2027-01-31T00:00:00Z" and future["enabled"] is True
    assert future["created"] is None
    assert nodes["postgres:pg1/role/svc_past/password"]["enabled"] is False
    assert nodes["postgres:pg1/role/svc_past"]["enabled"] is False
    assert nodes["postgres:pg1/role/svc_forever/password"]["expires"] is None
    assert "postgres:pg1/role/svc_nopass/password" not in nodes
    assert edges(records, "AUTHENTICATES", "postgres:pg1/role/svc_future/password")[0]["mfa"] is False


def test_pg_inherit_versus_noinherit_membership() -> None:
    records = transform_postgres(pg_dump(
        [pg_role("writers"), pg_role("inh", rolcanlogin=True), pg_role("noinh", rolcanlogin=True, rolinherit=False),
         pg_role("pg16_off", rolcanlogin=True), pg_role("pg16_on", rolcanlogin=True, rolinherit=False),
         pg_role("noset", rolcanlogin=True)],
        memberships=[
            {"role": "writers", "member": "inh", "admin_option": False},
            {"role": "writers", "member": "noinh", "admin_option": True},
            {"role": "writers", "member": "pg16_off", "admin_option": False, "inherit_option": False,
             "set_option": True},
            {"role": "writers", "member": "pg16_on", "admin_option": False, "inherit_option": True,
             "set_option": True},
            {"role": "writers", "member": "noset", "admin_option": False, "inherit_option": False,
             "set_option": False},
        ]))
    target = "postgres:pg1/role/writers"

    def kinds(member: str) -> list[str]:
        return sorted(e["kind"] for e in records.edges
                      if e["source"] == f"postgres:pg1/role/{member}" and e["target"] == target)

    assert kinds("inh") == ["MEMBER_OF"]
    assert kinds("noinh") == ["CAN_ASSUME", "CAN_GRANT"]
    assert kinds("pg16_off") == ["CAN_ASSUME"]
    assert kinds("pg16_on") == ["MEMBER_OF"]
    assert kinds("noset") == []
    assert "SET ROLE writers" in edges(records, "CAN_ASSUME", "postgres:pg1/role/noinh")[0]["via"]


def test_pg_public_grants_and_grant_option() -> None:
    def grant(grantee: str, privilege: str, grantable: bool = False, obj: str = "t") -> dict:
        return {"object_type": "table", "database": "app", "schema": "s", "object": obj, "grantee": grantee,
                "privilege_type": privilege, "is_grantable": grantable}

    records = transform_postgres(pg_dump(
        [pg_role("owner_app", rolcanlogin=True), pg_role("delegate", rolcanlogin=True),
         pg_role("reader", rolcanlogin=True)],
        privileges=[grant("PUBLIC", "SELECT"), grant("delegate", "INSERT", True),
                    grant("reader", "SELECT", True, "u")]))
    public = "postgres:pg1/role/PUBLIC"
    assert by_id(records)[public]["kind"] == "Group"
    assert {e["source"] for e in edges(records, "MEMBER_OF", target=public)} == {
        "postgres:pg1/role/owner_app", "postgres:pg1/role/delegate", "postgres:pg1/role/reader"}
    table = "postgres:pg1/db/app/schema/s/table/t"
    assert permission(records, public, table)["level"] == "read"
    assert permission(records, "postgres:pg1/role/delegate", table)["level"] == "admin"
    assert permission(records, "postgres:pg1/role/reader", "postgres:pg1/db/app/schema/s/table/u")["level"] == "read"


def test_pg_predefined_roles_and_createrole() -> None:
    records = transform_postgres(pg_dump(
        [pg_role("pg_write_all_data"), pg_role("pg_execute_server_program"),
         pg_role("loader", rolcanlogin=True), pg_role("mgr", rolcanlogin=True, rolcreaterole=True)],
        memberships=[{"role": "pg_write_all_data", "member": "loader", "admin_option": False}]))
    assert permission(records, "postgres:pg1/role/pg_write_all_data", "postgres:pg1")["level"] == "write"
    assert permission(records, "postgres:pg1/role/pg_execute_server_program", "postgres:pg1")["level"] == "admin"
    assert edges(records, "MEMBER_OF", "postgres:pg1/role/loader", "postgres:pg1/role/pg_write_all_data")
    mgr = permission(records, "postgres:pg1/role/mgr", "postgres:pg1")
    assert mgr["level"] == "admin" and "CREATEROLE" in mgr["via"]


def test_pg_hba_rules_without_password_method_mean_no_password() -> None:
    hba = [{"line_number": 1, "type": "hostssl", "database": ["all"], "user_name": ["+certusers"],
            "address": "10.0.0.0", "netmask": "255.0.0.0", "auth_method": "cert"},
           {"line_number": 2, "type": "hostssl", "database": ["all"], "user_name": ["app"],
            "address": "10.0.0.0", "netmask": "255.0.0.0", "auth_method": "scram-sha-256"}]
    nodes = by_id(transform_postgres(pg_dump(
        [pg_role("app", rolcanlogin=True), pg_role("certonly", rolcanlogin=True), pg_role("certusers")],
        memberships=[{"role": "certusers", "member": "certonly", "admin_option": False}], hba_rules=hba)))
    assert "postgres:pg1/role/app/password" in nodes
    assert "postgres:pg1/role/certonly/password" not in nodes


def test_pg_hba_trust_rule_is_an_entry_without_secret() -> None:
    hba = [{"line_number": 1, "type": "local", "database": ["all"], "user_name": ["all"], "auth_method": "trust"},
           {"line_number": 2, "type": "host", "database": ["all"], "user_name": ["+ops"],
            "address": "10.0.0.0", "netmask": "255.0.0.0", "auth_method": "trust"},
           {"line_number": 3, "type": "host", "database": ["all"], "user_name": ["all"],
            "address": "0.0.0.0", "netmask": "0.0.0.0", "auth_method": "scram-sha-256"}]
    records = transform_postgres(pg_dump(
        [pg_role("opsbot", rolcanlogin=True), pg_role("app", rolcanlogin=True), pg_role("ops")],
        memberships=[{"role": "ops", "member": "opsbot", "admin_option": False}], hba_rules=hba))
    nodes = by_id(records)
    trust = nodes["postgres:pg1/role/opsbot/trust"]
    assert trust["kind"] == "password" and trust["empty_password"] is True and trust["expires"] is None
    via = edges(records, "AUTHENTICATES", "postgres:pg1/role/opsbot/trust")[0]["via"]
    assert via.startswith("pg_hba.conf line 2: host 10.0.0.0 trust")
    # a local (socket) trust rule needs a shell on the server: not a network entry
    assert "postgres:pg1/role/app/trust" not in nodes
    assert "postgres:pg1/role/app/password" in nodes and "postgres:pg1/role/opsbot/password" in nodes


def test_pg_cloudsql_iam_service_account_federates() -> None:
    dump = pg_dump([pg_role("cloudsqliamserviceaccount"),
                    pg_role("etl-runner@lumen-data-prod.iam", rolcanlogin=True)],
                   memberships=[{"role": "cloudsqliamserviceaccount", "member": "etl-runner@lumen-data-prod.iam",
                                 "admin_option": False}])
    dump["server"]["gcp_cloudsql_instance"] = "lumen-data-prod:warehouse"
    records = transform_postgres(dump)
    login = "postgres:pg1/role/etl-runner@lumen-data-prod.iam"
    fed = edges(records, "FEDERATES_TO", target=login)
    assert [e["source"] for e in fed] == ["gcp:serviceAccount/etl-runner@lumen-data-prod.iam.gserviceaccount.com"]
    assert f"{login}/password" not in by_id(records)
    assert by_id(records)[login]["human"] is False


def test_pg_default_privileges_land_on_the_schema() -> None:
    records = transform_postgres(load("orders-prod.json"))
    edge = permission(records, f"{PG}/role/readonly_bi", f"{PG}/db/orders/schema/public")
    assert edge["level"] == "read" and "ALTER DEFAULT PRIVILEGES" in edge["via"]
    assert edge["conditions"]


# -- MySQL / MariaDB transform ----------------------------------------------------------------

def test_mysql_password_lifetime_rules() -> None:
    records = transform_mysql(my_dump([
        my_user("svc_default"),  # NULL -> global default (90)
        my_user("svc_never", password_lifetime=0),
        my_user("svc_thirty", password_lifetime=30, password_last_changed="2026-10-20 14:30:00"),
        my_user("svc_old", password_lifetime=30, password_last_changed="2026-08-01 00:00:00"),
    ], default_lifetime="90"))
    nodes = by_id(records)
    assert nodes["mysql:my1/user/svc_default@%/password"]["expires"] == "2026-04-01T00:00:00Z"
    assert nodes["mysql:my1/user/svc_default@%/password"]["created"] == "2026-01-01T00:00:00Z"
    assert nodes["mysql:my1/user/svc_never@%/password"]["expires"] is None
    assert nodes["mysql:my1/user/svc_thirty@%/password"]["expires"] == "2026-11-19T14:30:00Z"
    assert nodes["mysql:my1/user/svc_thirty@%/password"]["enabled"] is True
    assert nodes["mysql:my1/user/svc_old@%/password"]["enabled"] is False  # lifetime ran out


def test_mysql_global_default_zero_means_never() -> None:
    nodes = by_id(transform_mysql(my_dump([my_user("svc_a"), my_user("svc_b", password_lifetime=-1)])))
    assert nodes["mysql:my1/user/svc_a@%/password"]["expires"] is None
    assert nodes["mysql:my1/user/svc_b@%/password"]["expires"] is None


def test_mysql_sample_lifetimes() -> None:
    nodes = by_id(transform_mysql(load("billing-prod.json")))
    billing = nodes[f"{MY}/user/app_billing@%/password"]
    assert (billing["created"], billing["expires"], billing["enabled"]) == ("2024-01-10T09:15:00Z", None, True)
    reports = nodes[f"{MY}/user/app_reports@%/password"]
    assert reports["expires"] == "2026-11-19T14:30:00Z"


def test_mysql_locked_or_expired_account_disables_credential() -> None:
    nodes = by_id(transform_mysql(my_dump([my_user("svc_locked", account_locked="Y"),
                                           my_user("svc_expired", password_expired="Y")])))
    assert nodes["mysql:my1/user/svc_locked@%/password"]["enabled"] is False
    assert nodes["mysql:my1/user/svc_locked@%"]["enabled"] is False
    assert nodes["mysql:my1/user/svc_expired@%/password"]["enabled"] is False
    assert nodes["mysql:my1/user/svc_expired@%"]["enabled"] is True


def test_mysql_table_priv_set_parsing() -> None:
    assert parse_mysql_set("Select,Insert,Show view,Grant,Delete versioning rows") == [
        "SELECT", "INSERT", "SHOW VIEW", "GRANT OPTION", "DELETE HISTORY"]
    assert parse_mysql_set("") == []
    tables = [
        {"Host": "%", "Db": "shop", "User": "svc_r", "Table_name": "orders", "Table_priv": "Select,Show view",
         "Column_priv": ""},
        {"Host": "%", "Db": "shop", "User": "svc_w", "Table_name": "orders", "Table_priv": "Select,Update",
         "Column_priv": ""},
        {"Host": "%", "Db": "shop", "User": "svc_g", "Table_name": "orders", "Table_priv": "Insert,Grant",
         "Column_priv": ""},
        {"Host": "%", "Db": "shop", "User": "svc_c", "Table_name": "orders", "Table_priv": "",
         "Column_priv": "Update"},
    ]
    records = transform_mysql(my_dump([my_user(u) for u in ("svc_r", "svc_w", "svc_g", "svc_c")],
                                      table_privileges=tables))
    table = "mysql:my1/db/shop/table/orders"
    assert permission(records, "mysql:my1/user/svc_r@%", table)["level"] == "read"
    assert permission(records, "mysql:my1/user/svc_w@%", table)["level"] == "write"
    granted = permission(records, "mysql:my1/user/svc_g@%", table)
    assert granted["level"] == "admin" and granted["via"].endswith("WITH GRANT OPTION")
    assert permission(records, "mysql:my1/user/svc_c@%", table)["level"] == "write"
    assert environments(records.nodes)(table) == "prod"


def test_mysql_global_and_db_privileges() -> None:
    every = {column: "Y" for column in load("billing-prod.json")["users"][1] if column.endswith("_priv")}
    records = transform_mysql(my_dump(
        [my_user("svc_super", Super_priv="Y"), my_user("svc_read", Select_priv="Y"),
         my_user("svc_all", **every), my_user("svc_db")],
        db_privileges=[{"Host": "%", "Db": "billing\\_v2", "User": "svc_db", "Select_priv": "Y",
                        "Insert_priv": "Y", "Grant_priv": "N"}]))
    assert permission(records, "mysql:my1/user/svc_super@%", "mysql:my1")["level"] == "admin"
    assert permission(records, "mysql:my1/user/svc_read@%", "mysql:my1")["level"] == "read"
    everything = permission(records, "mysql:my1/user/svc_all@%", "mysql:my1")
    assert everything["level"] == "admin" and "ALL PRIVILEGES ON *.*" in everything["via"]
    # a partial row with every listed column Y is not mistaken for ALL PRIVILEGES
    assert permission(records, "mysql:my1/user/svc_db@%", "mysql:my1/db/billing_v2")["level"] == "write"


def test_mysql_sample_grants() -> None:
    records = transform_mysql(load("billing-prod.json"))
    assert permission(records, f"{MY}/user/app_billing@%", f"{MY}/db/billing")["level"] == "write"
    assert permission(records, f"{MY}/user/app_reports@%", f"{MY}/db/billing/table/report_cache")["level"] == "write"
    root = permission(records, f"{MY}/user/root@localhost", MY)
    assert root["level"] == "admin" and "ALL PRIVILEGES" in root["via"]


def test_mysql_sample_rds_iam_account_reachable_from_aws() -> None:
    """billing_api@% signs in with an RDS IAM token: no password, and the rds-db:connect ARN as alias."""
    records = transform_mysql(load("billing-prod.json"))
    login = by_id(records)[f"{MY}/user/billing_api@%"]
    assert login["aliases"] == ["aws:arn:aws:rds-db:us-east-1:111111111111:dbuser:db-BILLINGPROD4M8X/billing_api"]
    assert login["kind"] == "ServiceIdentity" and login["auth_plugin"] == "AWSAuthenticationPlugin"
    assert f"{MY}/user/billing_api@%/password" not in by_id(records)
    grant = permission(records, f"{MY}/user/billing_api@%", f"{MY}/db/billing/table/invoices")
    assert grant["level"] == "write" and grant["actions"] == ["INSERT", "UPDATE"]


def test_mysql_roles_need_activation_unless_default() -> None:
    users = [my_user("app"), my_user("ops"), my_user("writer", account_locked="Y", has_password=False)]
    edges_rows = [{"FROM_HOST": "%", "FROM_USER": "writer", "TO_HOST": "%", "TO_USER": "app",
                   "WITH_ADMIN_OPTION": "N"},
                  {"FROM_HOST": "%", "FROM_USER": "writer", "TO_HOST": "%", "TO_USER": "ops",
                   "WITH_ADMIN_OPTION": "Y"}]
    defaults = [{"HOST": "%", "USER": "app", "DEFAULT_ROLE_HOST": "%", "DEFAULT_ROLE_USER": "writer"}]
    records = transform_mysql(my_dump(users, role_edges=edges_rows, default_roles=defaults))
    role = "mysql:my1/user/writer@%"
    assert by_id(records)[role]["kind"] == "Group"
    assert f"{role}/password" not in by_id(records)
    assert edges(records, "MEMBER_OF", "mysql:my1/user/app@%", role)
    assert edges(records, "CAN_ASSUME", "mysql:my1/user/ops@%", role)
    assert edges(records, "CAN_GRANT", "mysql:my1/user/ops@%", role)


def test_mariadb_roles_mapping_and_default_role() -> None:
    users = [my_user("app", default_role="billing_rw"), my_user("ops"),
             my_user("billing_rw", host="", is_role="Y", plugin="", has_password=False)]
    mapping = [{"Host": "%", "User": "app", "Role": "billing_rw", "Admin_option": "N"},
               {"Host": "%", "User": "ops", "Role": "billing_rw", "Admin_option": "N"}]
    records = transform_mysql(my_dump(users, engine="mariadb", role_edges=mapping))
    role = "mysql:my1/user/billing_rw@"
    assert edges(records, "MEMBER_OF", "mysql:my1/user/app@%", role)
    assert edges(records, "CAN_ASSUME", "mysql:my1/user/ops@%", role)


def test_mysql_rds_iam_plugin_and_empty_password() -> None:
    dump = my_dump([my_user("iam_app", plugin="AWSAuthenticationPlugin"),
                    my_user("svc_open", has_password=False, empty_password=True),
                    my_user("svc_socket", plugin="unix_socket", has_password=False)])
    dump["server"].update(aws_region="eu-west-1", aws_account_id="222222222222",
                          aws_rds_resource_id="db-ABCDEF123")
    nodes = by_id(transform_mysql(dump))
    assert nodes["mysql:my1/user/iam_app@%"]["aliases"] == [
        "aws:arn:aws:rds-db:eu-west-1:222222222222:dbuser:db-ABCDEF123/iam_app"]
    assert "mysql:my1/user/iam_app@%/password" not in nodes
    assert nodes["mysql:my1/user/svc_open@%/password"]["empty_password"] is True
    assert "mysql:my1/user/svc_socket@%/password" not in nodes


def test_identity_hints_win_over_the_heuristic() -> None:
    dump = my_dump([my_user("svc_person"), my_user("bob")])
    dump["identity_hints"] = {"humans": ["svc_person@%"], "machines": ["bob"]}
    nodes = by_id(transform_mysql(copy.deepcopy(dump)))
    assert nodes["mysql:my1/user/svc_person@%"]["kind"] == "User"
    assert nodes["mysql:my1/user/bob@%"]["kind"] == "ServiceIdentity"
