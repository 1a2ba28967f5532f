"""Server descriptions (DSN, config file, env var) and the `crosspath collect databases` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from collectors.databases.servers import ENV_DSNS, TargetError, gather_targets, load_config, parse_dsn
from crosspath.cli import main
from tests.collectors.databases.conftest import MY_HOST, PG_HOST


def test_dsn_forms_and_tls_parameters() -> None:
    pg = parse_dsn("orders-prod=postgresql://reader:s3cret@db.internal:6432/orders?sslmode=verify-full"
                   "&sslrootcert=/etc/ca.pem&application_name=x")
    assert (pg.name, pg.engine, pg.host, pg.port, pg.user, pg.database) == (
        "orders-prod", "postgresql", "db.internal", 6432, "reader", "orders")
    assert pg.tls.mode == "verify-full" and pg.tls.ca == "/etc/ca.pem"
    assert pg.params == {"application_name": "x"}
    assert "s3cret" not in pg.safe_dsn and "s3cret" not in repr(pg)
    maria = parse_dsn("mariadb://app@billing.example.com/?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca.pem")
    assert (maria.name, maria.engine, maria.port, maria.tls.mode) == (
        "billing.example.com", "mysql", 3306, "verify-full")


@pytest.mark.parametrize("dsn, message", [
    ("oracle://x@h/", "unknown scheme oracle://"),
    ("postgresql:///db", "no host in the URL"),
    ("postgresql://h:notaport/db", "not a valid URL"),
    ("bad name=postgresql://h/db", "unknown scheme"),
    ("postgresql://h/db?sslmode=sometimes", "TLS mode 'sometimes'"),
    ("collection=postgresql://h/db", "reserved for the run's log"),
])
def test_bad_dsn_is_named(dsn: str, message: str) -> None:
    with pytest.raises(TargetError, match="--dsn") as raised:
        parse_dsn(dsn)
    assert message in str(raised.value)


def test_config_file_reads_password_from_env_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "servers.yaml"
    config.write_text("""
servers:
  - name: orders-prod
    dsn: postgresql://reader@db.internal/orders
    password_env: ORDERS_PW
    environment: prod
    tls: {mode: require}
    aws_rds_resource_id: db-ORDERSPROD7K2Q
    aws_region: us-east-1
    aws_account_id: "111111111111"
    identity_hints: {humans: [dba_maria]}
""")
    monkeypatch.setenv("ORDERS_PW", "from-env")
    [target] = load_config(config)
    assert target.password == "from-env" and target.environment == "prod" and target.tls.mode == "require"
    assert target.links == {"aws_rds_resource_id": "db-ORDERSPROD7K2Q", "aws_region": "us-east-1",
                            "aws_account_id": "111111111111"}
    assert target.identity_hints == {"humans": ["dba_maria"], "machines": []}

    config.write_text("- {name: a, dsn: 'postgresql://h/db', password: hunter2}\n")
    with pytest.raises(TargetError, match=r"servers\[0\]\.password: passwords are never read"):
        load_config(config)
    config.write_text("- {name: a, dsn: 'postgresql://u:hunter2@h/db'}\n")
    with pytest.raises(TargetError, match="holds a password; remove it and use `password_env`"):
        load_config(config)
    config.write_text("- {name: a, dsn: 'postgresql://u@h/db?password=hunter2'}\n")
    with pytest.raises(TargetError, match="holds a password"):
        load_config(config)
    config.write_text("- {name: a, dsn: 'postgresql://h/db', password_env: NOT_SET_ANYWHERE}\n")
    with pytest.raises(TargetError, match="NOT_SET_ANYWHERE is not set"):
        load_config(config)


def test_env_var_servers_and_duplicate_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DSNS, "a=postgresql://h1/db mysql://h2/")
    targets = gather_targets(["c=postgresql://h3/db"], None, "nonprod")
    assert [(t.name, t.environment) for t in targets] == [("c", "nonprod"), ("a", "nonprod"), ("h2", "nonprod")]
    with pytest.raises(TargetError, match="already used"):
        gather_targets(["a=postgresql://h9/db"], None)


def test_cli_bad_dsn_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["collect", "databases", "--dsn", "oracle://x@h/", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown scheme oracle://" in result.output


def test_cli_collects_several_servers_and_scan_reads_them(pg, my, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    dba = pg.role("dba", "LOGIN SUPERUSER PASSWORD 'x'")
    reader = pg.role("reader", "LOGIN")
    monkeypatch.setenv("PG_READER_PASSWORD", "only-in-env")
    config = tmp_path / "servers.yaml"
    config.write_text(json.dumps([{
        "name": "orders-prod", "dsn": f"postgresql://{reader}@{PG_HOST}/{pg.database}",
        "password_env": "PG_READER_PASSWORD", "environment": "prod", "databases": [pg.database],
        "identity_hints": {"humans": [dba]},
    }]))
    out = tmp_path / "exports"
    monkeypatch.setenv(ENV_DSNS, f"billing=mysql://root@{MY_HOST}/")

    result = CliRunner().invoke(main, ["collect", "databases", "--config", str(config),
                                       "--dsn", "down=postgresql://x@127.0.0.1:1/db", "--out", str(out), "--quiet"])

    assert result.exit_code == 0, result.output
    assert "error: down: cannot read postgresql://x@127.0.0.1:1/db" in result.output
    assert sorted(p.name for p in (out / "databases").iterdir()) == ["billing.json", "collection.json",
                                                                      "orders-prod.json"]
    assert "only-in-env" not in "".join(p.read_text() for p in (out / "databases").iterdir())
    assert json.loads((out / "manifest.json").read_text())["sources"]["databases"]

    scan = CliRunner().invoke(main, ["scan", str(out), "--out", str(tmp_path / "report"), "--quiet",
                                     "--format", "json"])
    assert scan.exit_code == 0, scan.output
    findings = json.loads((tmp_path / "report" / "findings.json").read_text())
    entries = {f["entry"]["id"]: f for f in findings["findings"]}
    dba_finding = entries[f"postgres:orders-prod/role/{dba}/password"]
    assert "NO_MFA" in dba_finding["gap_types"] and dba_finding["entry"]["human"] is True


def test_cli_fails_when_no_server_is_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_DSNS, raising=False)
    result = CliRunner().invoke(main, ["collect", "databases", "--dsn", "postgresql://x@127.0.0.1:1/db",
                                       "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 1
    log = json.loads((tmp_path / "databases" / "collection.json").read_text())
    assert [p["kind"] for p in log["problems"]] == ["failed"]
    none = CliRunner().invoke(main, ["collect", "databases", "--out", str(tmp_path)])
    assert none.exit_code == 2 and "no server given" in none.output


def test_an_unreachable_server_is_named_in_coverage_and_in_the_scan(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from crosspath.pipeline import run_analysis
    from graph.snapshot import read_snapshot
    from queries.reports.coverage_text import coverage

    def run_analysis_of(out: Path):
        return run_analysis(read_snapshot(out / "snapshot.arrow"), None, None)

    monkeypatch.delenv(ENV_DSNS, raising=False)
    exports = tmp_path / "exports"
    shutil.copytree(Path("data/samples"), exports)
    # one live run that reached no server, beside the two sample dumps a previous run left
    collect = CliRunner().invoke(main, ["collect", "databases", "--dsn", "down=postgresql://x@127.0.0.1:1/db",
                                        "--out", str(exports), "--quiet"])
    assert collect.exit_code == 1
    assert "down: cannot read postgresql://x@127.0.0.1:1/db (postgresql server at 127.0.0.1:1)" in collect.output

    scan = CliRunner().invoke(main, ["scan", str(exports), "--out", str(tmp_path / "out"), "--format", "json"])
    warning = ("warning: databases: partially covered (not collected: failed: connect on down: cannot read "
               "postgresql://x@127.0.0.1:1/db (postgresql server at 127.0.0.1:1): ")
    assert warning in scan.output, scan.output
    assert "partially covered (0 errors" not in scan.output
    snapshot_coverage = coverage(run_analysis_of(tmp_path / "out"))
    databases = next(row for row in snapshot_coverage if row.source == "databases")
    assert databases.statement.startswith(warning.removeprefix("warning: "))
