"""Benchmark: live database collection on the local servers; prints time, rows, records and memory.

    python bench/databases_live.py --logins 2000 --tables 2000 --grants-per-login 10

Creates a scratch database with that many tables and logins on the local PostgreSQL (127.0.0.1:5432,
superuser postgres) and MariaDB (127.0.0.1:3306, root), gives every login SELECT / INSERT on a few
tables, times `crosspath collect databases`' readers and the offline transform, then drops it all.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg
import pymysql

from collectors.databases import collect_offline
from collectors.databases.live import collect_databases
from collectors.databases.servers import parse_dsn


def _figures(kind: str, setup_s: float, folder: Path, collect_s: float) -> dict:
    begin = time.perf_counter()
    result = collect_offline(folder)
    transform_s = time.perf_counter() - begin
    dump = json.loads(next(p for p in folder.glob("*.json") if p.name != "collection.json").read_text())
    rows = sum(len(v) for v in dump.values() if isinstance(v, list))
    return {"engine": kind, "setup_s": round(setup_s, 2), "collect_s": round(collect_s, 2),
            "transform_s": round(transform_s, 2), "dump_rows": rows,
            "dump_mb": round(sum(p.stat().st_size for p in folder.glob("*.json")) / 2**20, 2),
            "nodes": len(result.nodes), "edges": len(result.edges), "errors": len(result.errors)}


def bench_postgres(logins: int, tables: int, per_login: int) -> dict:
    prefix = f"cpb{uuid.uuid4().hex[:6]}"
    database = f"{prefix}_db"
    admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{database}"')
    try:
        started = time.perf_counter()
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}", autocommit=True) as conn:
            conn.execute(f"DO $$ BEGIN FOR i IN 1..{tables} LOOP "
                         f"EXECUTE format('CREATE TABLE t%s (id int)', i); END LOOP; END $$")
            conn.execute(f"DO $$ BEGIN FOR i IN 1..{logins} LOOP "
                         f"EXECUTE format('CREATE ROLE {prefix}_u%s LOGIN PASSWORD %L', i, 'x'); "
                         f"FOR j IN 1..{per_login} LOOP "
                         f"EXECUTE format('GRANT SELECT, INSERT ON t%s TO {prefix}_u%s', "
                         f"1 + (i * {per_login} + j) % {tables}, i); END LOOP; END LOOP; END $$")
        setup_s = time.perf_counter() - started
        target = parse_dsn(f"pg-bench=postgresql://postgres@127.0.0.1:5432/{database}")
        target.databases = [database]
        with tempfile.TemporaryDirectory() as out:
            begin = time.perf_counter()
            collect_databases([target], Path(out))
            collect_s = time.perf_counter() - begin
            return _figures("postgresql", setup_s, Path(out) / "databases", collect_s)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f"DO $$ DECLARE r text; BEGIN FOR r IN SELECT rolname FROM pg_roles "
                      f"WHERE rolname LIKE '{prefix}\\_u%' LOOP EXECUTE format('DROP ROLE %I', r); END LOOP; END $$")
        admin.close()


def bench_mariadb(logins: int, tables: int, per_login: int) -> dict:
    prefix = f"cpb{uuid.uuid4().hex[:6]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    cursor = admin.cursor()
    cursor.execute(f"CREATE DATABASE {prefix}_db")
    try:
        started = time.perf_counter()
        for i in range(1, tables + 1):
            cursor.execute(f"CREATE TABLE {prefix}_db.t{i} (id INT)")
        for i in range(1, logins + 1):
            cursor.execute(f"CREATE USER '{prefix}_u{i}'@'%' IDENTIFIED BY 'x'")
            for j in range(1, per_login + 1):
                table = 1 + (i * per_login + j) % tables
                cursor.execute(f"GRANT SELECT, INSERT ON {prefix}_db.t{table} TO '{prefix}_u{i}'@'%'")
        setup_s = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as out:
            begin = time.perf_counter()
            collect_databases([parse_dsn("my-bench=mysql://root@127.0.0.1:3306/")], Path(out))
            collect_s = time.perf_counter() - begin
            return _figures("mariadb", setup_s, Path(out) / "databases", collect_s)
    finally:
        for i in range(1, logins + 1):
            cursor.execute(f"DROP USER IF EXISTS '{prefix}_u{i}'@'%'")
        cursor.execute(f"DROP DATABASE IF EXISTS {prefix}_db")
        admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=2000)
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--grants-per-login", type=int, default=10)
    parser.add_argument("--engines", default="postgresql,mariadb")
    args = parser.parse_args()
    runs = {"postgresql": bench_postgres, "mariadb": bench_mariadb}
    for engine in args.engines.split(","):
        figures = runs[engine](args.logins, args.tables, args.grants_per_login)
        figures["logins"], figures["tables"] = args.logins, args.tables
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
