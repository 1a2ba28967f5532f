"""The Cypher console cannot crash anything (issue 16): what the check refuses, and what the worker
process contains. Every input here once crashed the CLI or the dashboard (exit 139), read a file, or
changed a setting."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from crosspath.cli import main
from graph.stores import (
    CypherError,
    ReadOnlyError,
    RefusedQueryError,
    StoreCrashError,
    run_read_query,
    worker,
)
from graph.stores.readonly import LBUG_PROCEDURES, check_query, tokenize
from queries.cypher_library import load_library

# (query, what the message must name)
REPRODUCED = [
    ("RETURN 1; RETURN 2", "exactly one statement"),
    ("MATCH (n) RETURN n;\nMATCH (m) RETURN m;", "exactly one statement"),
    ("RETURN 1;;", "exactly one statement"),
    ("CALL `threads`=1", "CALL threads=... (changing a database setting)"),
    ("CALL threads = 1", "CALL threads=... (changing a database setting)"),
    ("CALL `show_loaded_extensions`() RETURN *", "CALL show_loaded_extensions"),
    ("CALL `read_csv_serial`('/etc/passwd') RETURN *", "CALL read_csv_serial"),
    ("CALL READ_CSV_PARALLEL('/etc/passwd') RETURN *", "CALL read_csv_parallel"),
    ("CALL read_parquet('/etc/passwd') RETURN *", "CALL read_parquet"),
    ("CALL read_npy('/etc/passwd') RETURN *", "CALL read_npy"),
    ("CALL read_json('/etc/passwd') RETURN *", "CALL read_json"),
    ("UNWIND [1] AS x CALL `read_csv_serial`('/etc/passwd') RETURN *", "CALL read_csv_serial"),
    ("CALL `current_setting`('home_directory') RETURN *", "CALL current_setting"),
    ("LOAD FROM '/etc/passwd' RETURN *", "LOAD FROM"),
    ("load from `x` return *", "LOAD FROM"),
    ("LOAD EXTENSION json", "LOAD"),
    ("INSTALL httpfs", "INSTALL"),
    ("ATTACH '/tmp/other.lbug' AS other (dbtype lbug)", "ATTACH"),
    ("COPY (MATCH (n) RETURN n.id) TO '/tmp/out.csv'", "COPY"),
    ("EXPORT DATABASE '/tmp/out'", "EXPORT"),
    ("USE other MATCH (n) RETURN n", "USE"),
    ("MATCH (n) RETURN n // a comment ends at a carriage return\rCREATE (m:Identity {id: 'x'})", "CREATE"),
    ("MATCH (n) CALL { WITH n SET n.name = 'x' } RETURN n", "SET"),
    ("CALL { MATCH (n) RETURN n } IN TRANSACTIONS RETURN 1", "TRANSACTIONS"),
    ("SHOW DATABASES", "starting with 'SHOW'"),
    ("RETURN 'unterminated", "never closed"),
    ("RETURN 1 /* unterminated", "never closed"),
    ("// nothing but a comment", "empty"),
]


@pytest.fixture
def no_store(monkeypatch):
    """A refused query must never reach a store."""
    def reached(*args, **kwargs):
        raise AssertionError("a refused query reached the store")

    monkeypatch.setattr(worker, "run", reached)


@pytest.mark.parametrize(("query", "named"), REPRODUCED)
def test_reproduced_inputs_are_refused_before_the_store(snapshot, no_store, query, named):
    with pytest.raises(RefusedQueryError) as refused:
        run_read_query(snapshot, query)
    assert named in str(refused.value)


def test_settings_file_readers_and_unknown_procedures_are_read_only_errors():
    for query in ("CALL `threads`=1", "CALL read_parquet('/x') RETURN *", "CALL apoc.load.json('x')",
                  "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l"):
        with pytest.raises(ReadOnlyError, match="read-only"):
            check_query(query)


def test_words_in_strings_comments_names_properties_labels_keys_and_parameters_are_not_clauses():
    allowed = [
        "MATCH (n) WHERE n.name = 'CREATE DROP; RETURN 2' RETURN n.created, n.`set` // DELETE; LOAD",
        "RETURN \"a\\\" CREATE (n) //\" AS text",
        "MATCH (n {set: 1, load: 2}) RETURN n.copy, $delete /* SET */",
        "MATCH ()-[r:MEMBER_OF|SET]->(:COPY) RETURN r",
        "RETURN 1 AS `x; RETURN 2`",
        "RETURN 1;  // the one trailing ';' is allowed",
        "CALL `show_tables`() RETURN *",
        "call Show_Tables() return *",
        "CALL `db`.`labels`() YIELD label RETURN label",
        "EXPLAIN MATCH (n) RETURN n",
    ]
    for query in allowed:
        check_query(query)
    assert check_query("RETURN 1;  // done") == "RETURN 1"
    assert [t.text for t in tokenize("RETURN `a``b`, 'c\\'d'")] == ["RETURN", "a`b", ",", "c\\'d"]


def test_every_library_query_of_both_dialects_passes_the_check():
    for name, query in load_library().items():
        for dialect in ("lbug", "neo4j"):
            assert check_query(query.text(dialect)), (name, dialect)


def test_each_allowed_procedure_runs_on_the_embedded_store(snapshot):
    calls = {
        "show_tables": "CALL show_tables() RETURN count(*)",
        "table_info": "CALL `table_info`('Identity') RETURN count(*)",
        "show_connection": "CALL show_connection('MEMBER_OF') RETURN count(*)",
        "show_functions": "CALL show_functions() RETURN count(*)",
        "show_indexes": "CALL show_indexes() RETURN count(*)",
        "db_version": "CALL db_version() RETURN count(*)",
    }
    assert set(calls) == LBUG_PROCEDURES
    for name, query in calls.items():
        assert run_read_query(snapshot, query).rows[0][0] >= 0, name
    assert run_read_query(snapshot, "CALL show_tables() RETURN count(*)").rows[0][0] >= 15


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env)


@pytest.mark.parametrize(("query", "named"), [REPRODUCED[0], REPRODUCED[3], REPRODUCED[5], REPRODUCED[6],
                                              REPRODUCED[8], REPRODUCED[13]])
def test_the_cli_refuses_them_with_exit_code_1(snapshot, no_store, query, named):
    result = invoke("cypher", query, "--snapshot", str(snapshot))
    assert result.exit_code == 1 and named in result.output, result.output
    # the same check stands before Neo4j: refused before any connection is tried
    neo4j = invoke("cypher", query, "--store", "neo4j", env={"NEO4J_URI": "bolt://127.0.0.1:9"})
    assert neo4j.exit_code == 1 and named in neo4j.output and "127.0.0.1:9" not in neo4j.output


@pytest.mark.parametrize(("fault", "signal_text"), [("segfault", "signal 11: SIGSEGV"), ("abort", "signal 6: SIGABRT")])
def test_a_crash_of_the_store_is_reported_and_the_next_query_works(snapshot, monkeypatch, fault, signal_text):
    run_read_query(snapshot, "RETURN 1")  # a worker is up
    monkeypatch.setattr(worker, "TEST_FAULT", fault)
    with pytest.raises(StoreCrashError) as crashed:
        run_read_query(snapshot, "MATCH (n:Identity) RETURN count(*)")
    message = str(crashed.value)
    assert f"the embedded store crashed while running the query ({signal_text}" in message
    assert "the query was not run twice" in message
    monkeypatch.setattr(worker, "TEST_FAULT", None)
    assert run_read_query(snapshot, "MATCH (n:Identity) RETURN count(*)").rows[0][0] > 50


def test_a_worker_that_exits_is_reported_too(snapshot, monkeypatch):
    monkeypatch.setattr(worker, "TEST_FAULT", "exit")
    with pytest.raises(StoreCrashError, match=r"ended \(exit code 3\) while running the query"):
        run_read_query(snapshot, "RETURN 1")


def test_a_crash_through_the_cli_is_exit_code_1_with_the_reason(snapshot, monkeypatch):
    monkeypatch.setattr(worker, "TEST_FAULT", "segfault")
    result = invoke("cypher", "RETURN 1", "--snapshot", str(snapshot))
    assert result.exit_code == 1 and "crashed while running the query (signal 11" in result.output


def test_a_store_that_ignores_the_time_limit_is_killed(snapshot, monkeypatch):
    monkeypatch.setattr(worker, "TEST_FAULT", "hang")
    started = time.monotonic()
    with pytest.raises(CypherError, match="longer than 0.5 s and was stopped"):
        run_read_query(snapshot, "RETURN 1", timeout_s=0.5)
    assert time.monotonic() - started < 0.5 + worker.TIMEOUT_GRACE_S + 5
    monkeypatch.setattr(worker, "TEST_FAULT", None)
    assert run_read_query(snapshot, "RETURN 1").rows == [[1]]


def test_a_query_over_the_memory_limit_is_stopped_with_a_clear_error(snapshot):
    with pytest.raises(CypherError, match=r"needed more memory than the embedded store may use \(1 GiB\)"):
        run_read_query(snapshot, "UNWIND range(1, 400000000) AS x RETURN collect(x)", memory_limit="1GiB")
    with pytest.raises(CypherError, match="memory limit .* is too small for this store"):
        run_read_query(snapshot, "RETURN 1", memory_limit="256MiB")
    assert run_read_query(snapshot, "RETURN 1", memory_limit="1GiB").rows == [[1]]


def test_memory_limit_default_environment_and_sizes(monkeypatch):
    monkeypatch.delenv(worker.MEMORY_LIMIT_ENV, raising=False)
    assert worker.memory_limit(None) == worker.DEFAULT_MEMORY_LIMIT == 4 << 30
    monkeypatch.setenv(worker.MEMORY_LIMIT_ENV, "6GiB")
    assert worker.memory_limit(None) == 6 << 30 and worker.memory_limit("2G") == 2 << 30
    assert worker.parse_size("512M") == 512 << 20 and worker.parse_size(1 << 30) == 1 << 30
    assert worker.parse_size("0") is None and worker.parse_size("none") is None
    with pytest.raises(CypherError, match="not a memory size"):
        worker.parse_size("lots")


def test_an_idle_worker_that_died_is_replaced_without_an_error(snapshot):
    import os
    import signal

    run_read_query(snapshot, "RETURN 1")
    for idle in list(worker._idle):
        os.kill(idle.process.pid, signal.SIGKILL)
        idle.process.join(5)
    assert run_read_query(snapshot, "RETURN 2").rows == [[2]]
