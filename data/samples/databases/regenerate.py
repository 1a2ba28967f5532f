"""Regenerate orders-prod.json and billing-prod.json with the live collector against real servers.

    sudo .venv/bin/python data/samples/databases/regenerate.py      # as root: needs initdb / mariadbd

It starts two throwaway servers in a temporary folder (PostgreSQL on 127.0.0.1:55432 with the
bootstrap superuser named `rdsadmin` as on RDS, MariaDB on a private socket), creates the Lumen
Freight roles, grants and tables with SQL, collects them with `collectors.databases` exactly as
`crosspath collect databases` does, stops the servers and deletes the folder. Only the `server`
block is then set to the sample's RDS identity (name, host, version, cloud links, collected_at
2026-11-01). What a local server cannot do is set in its catalog before collection and listed in
`CATALOG_EDITS_*` (dates in the past, the RDS-only AWSAuthenticationPlugin, a locked root): the
MariaDB edits go straight to `mysql.global_priv` without FLUSH PRIVILEGES, so the running server
keeps working while the catalog rows read exactly as on the real system.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

import psycopg
import pymysql

from collectors.databases.live import build_dump
from collectors.databases.read_mysql import MySQLReader
from collectors.databases.read_postgres import PostgresReader
from collectors.databases.servers import parse_dsn

HERE = Path(__file__).resolve().parent
COLLECTED_AT = datetime(2026, 11, 1, tzinfo=UTC)
PG_PORT = 55432

ORDERS_CLUSTER_SQL = [
    # RDS's own roles (rds_superuser can create roles and databases; rdsadmin is the real superuser)
    "CREATE ROLE rds_superuser NOLOGIN CREATEROLE CREATEDB",
    "CREATE ROLE rds_replication NOLOGIN", "CREATE ROLE rds_password NOLOGIN",
    "CREATE ROLE rds_iam NOLOGIN", "CREATE ROLE rds_ad NOLOGIN",
    "ALTER ROLE rdsadmin VALID UNTIL 'infinity'",
    "GRANT pg_monitor, pg_signal_backend, rds_replication, rds_password TO rds_superuser WITH ADMIN OPTION",
    # the master user: member of rds_superuser, its password expired on 2025-06-30
    "CREATE ROLE postgres LOGIN CREATEROLE CREATEDB PASSWORD 'sample-only' VALID UNTIL '2025-06-30 00:00:00+00'",
    "GRANT rds_superuser TO postgres",
    "CREATE ROLE dba_maria LOGIN PASSWORD 'sample-only'",
    "CREATE ROLE app_orders LOGIN PASSWORD 'sample-only'",
    "CREATE ROLE reporting_app LOGIN",
    "CREATE ROLE readonly_bi LOGIN PASSWORD 'sample-only' CONNECTION LIMIT 20",
    "SET ROLE postgres", "GRANT rds_superuser TO dba_maria", "GRANT rds_iam TO reporting_app", "RESET ROLE",
    "CREATE DATABASE rdsadmin", "REVOKE ALL ON DATABASE rdsadmin FROM PUBLIC",
    "ALTER DATABASE postgres OWNER TO postgres",
    "CREATE DATABASE orders OWNER app_orders",
]
ORDERS_DATABASE_SQL = [
    "SET ROLE app_orders",
    "GRANT CONNECT ON DATABASE orders TO reporting_app, readonly_bi",
    "CREATE TABLE public.orders (order_id serial PRIMARY KEY, customer text, total numeric)",
    "CREATE TABLE public.shipments (shipment_id serial PRIMARY KEY, order_id int, status text)",
    "GRANT SELECT, INSERT, UPDATE ON public.orders, public.shipments TO reporting_app",
    "GRANT USAGE ON SEQUENCE public.orders_order_id_seq, public.shipments_shipment_id_seq TO reporting_app",
    "GRANT SELECT ON public.orders, public.shipments TO readonly_bi",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO readonly_bi",
    "RESET ROLE",
]
ORDERS_SERVER = {
    "name": "orders-prod", "engine": "postgresql", "version": "15.8",
    "host": "orders-prod.c7lumenq2k9x.us-east-1.rds.amazonaws.com", "port": 5432, "environment": "prod",
    "aws_rds_resource_id": "db-ORDERSPROD7K2Q", "aws_region": "us-east-1", "aws_account_id": "111111111111",
}
ORDERS_HINTS = {"humans": ["dba_maria"], "machines": ["postgres", "app_orders", "reporting_app", "readonly_bi"]}

BILLING_SQL = [
    "CREATE DATABASE billing",
    "CREATE TABLE billing.invoices (id INT PRIMARY KEY, customer VARCHAR(80), amount DECIMAL(12, 2))",
    "CREATE TABLE billing.report_cache (id INT PRIMARY KEY, body TEXT)",
    "CREATE USER 'app_billing'@'%' IDENTIFIED BY 'sample-only' PASSWORD EXPIRE NEVER",
    "GRANT INSERT, UPDATE, DELETE ON billing.* TO 'app_billing'@'%'",
    "CREATE USER 'app_reports'@'%' IDENTIFIED BY 'sample-only' PASSWORD EXPIRE INTERVAL 30 DAY",
    "GRANT INSERT ON billing.report_cache TO 'app_reports'@'%'",
    # RDS IAM database authentication: created here with a password plugin, switched below
    "CREATE USER 'billing_api'@'%' IDENTIFIED BY 'sample-only'",
    "GRANT INSERT, UPDATE ON billing.invoices TO 'billing_api'@'%'",
    "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('sample-only')",
]


def _set_priv(user: str, host: str, assignments: str) -> str:
    """Edit one account's JSON in mysql.global_priv (no FLUSH: the running server is unaffected)."""
    return f"UPDATE mysql.global_priv SET Priv = JSON_SET({assignments}) WHERE User = '{user}' AND Host = '{host}'"


CATALOG_EDITS_BILLING = [
    _set_priv("app_billing", "%", "Priv, '$.password_last_changed', UNIX_TIMESTAMP('2024-01-10 09:15:00')"),
    _set_priv("app_reports", "%", "Priv, '$.password_last_changed', UNIX_TIMESTAMP('2026-10-20 14:30:00')"),
    _set_priv("billing_api", "%", "JSON_REMOVE(Priv, '$.auth_or'), '$.plugin', 'AWSAuthenticationPlugin', "
                                  "'$.authentication_string', 'RDS', "
                                  "'$.password_last_changed', UNIX_TIMESTAMP('2025-11-03 08:00:00')"),
    _set_priv("root", "localhost", "Priv, '$.password_last_changed', UNIX_TIMESTAMP('2023-03-02 10:14:07'), "
                                   "'$.account_locked', JSON_EXTRACT('true', '$')"),
    "UPDATE mysql.tables_priv SET Timestamp = '2026-10-20 14:31:02' WHERE Db = 'billing'",
    "UPDATE mysql.tables_priv SET Timestamp = '2023-03-02 10:14:07' WHERE Db = 'mysql'",
]
BILLING_SERVER = {
    "name": "billing-prod", "engine": "mariadb", "version": "10.11.9-MariaDB-log",
    "host": "billing-prod.c7lumenq2k9x.us-east-1.rds.amazonaws.com", "port": 3306, "environment": "prod",
    "aws_rds_resource_id": "db-BILLINGPROD4M8X", "aws_region": "us-east-1", "aws_account_id": "111111111111",
}
BILLING_HINTS = {"humans": [], "machines": ["app_billing", "app_reports", "billing_api"]}


def _pg_bin(tool: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name))
    return str(versions[-1] / "bin" / tool)


def _as_postgres(*command: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, stdout=subprocess.DEVNULL)


def _finish(dump: dict, server: dict, hints: dict) -> dict:
    head = {"format": dump.pop("format"), "version": dump.pop("version"),
            "server": {**server, "collected_at": dump.pop("server")["collected_at"]}, "identity_hints": hints}
    dump.pop("identity_hints", None)
    return {**head, **dump}


def orders_prod(work: Path) -> dict:
    data = work / "pg"
    shutil.chown(work, "postgres")
    _as_postgres(_pg_bin("initdb"), "-D", str(data), "-U", "rdsadmin", "-A", "trust", "-E", "UTF8",
                 "--locale=C", "--no-sync")
    _as_postgres(_pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(work / "pg.log"), "-o",
                 f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -k {work}", "start")
    try:
        with psycopg.connect(f"postgresql://rdsadmin@127.0.0.1:{PG_PORT}/postgres", autocommit=True) as conn:
            for statement in ORDERS_CLUSTER_SQL:
                conn.execute(statement)
        with psycopg.connect(f"postgresql://rdsadmin@127.0.0.1:{PG_PORT}/orders", autocommit=True) as conn:
            for statement in ORDERS_DATABASE_SQL:
                conn.execute(statement)
        # collected as the (non-superuser) master user, as on RDS: pg_authid and pg_hba are not readable
        target = parse_dsn(f"orders-prod=postgresql://postgres@127.0.0.1:{PG_PORT}/postgres")
        sections = PostgresReader(target, lambda *_: None).read()
    finally:
        _as_postgres(_pg_bin("pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop")
    return _finish(build_dump(target, sections, COLLECTED_AT), ORDERS_SERVER, ORDERS_HINTS)


def billing_prod(work: Path) -> dict:
    data, sock = work / "my", work / "my.sock"
    shutil.chown(work, "mysql")
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=mysql",
                    "--skip-test-db"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = subprocess.Popen(["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}",
                               "--skip-networking", "--user=mysql", f"--pid-file={work / 'my.pid'}",
                               f"--log-error={work / 'my.err'}"])
    try:
        for _ in range(60):
            if sock.exists():
                break
            time.sleep(0.5)
        admin = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
        with admin.cursor() as cursor:
            for statement in BILLING_SQL + CATALOG_EDITS_BILLING:
                cursor.execute(statement)
        target = parse_dsn(f"billing-prod=mysql://root:sample-only@localhost/?unix_socket={sock}")
        sections = MySQLReader(target, lambda *_: None).read()
        with admin.cursor() as cursor:
            cursor.execute("SHUTDOWN")
        admin.close()
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=60)
    return _finish(build_dump(target, sections, COLLECTED_AT), BILLING_SERVER, BILLING_HINTS)


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("run as root: initdb and mariadbd are started as the postgres / mysql users")
    for name, make in (("orders-prod", orders_prod), ("billing-prod", billing_prod)):
        work = Path(tempfile.mkdtemp(prefix=f"crosspath-{name}-"))
        try:
            dump = make(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        (HERE / f"{name}.json").write_text(json.dumps(dump, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {HERE / (name + '.json')}")


if __name__ == "__main__":
    main()
