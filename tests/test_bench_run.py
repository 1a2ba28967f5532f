"""bench/run.py: --stages all adds the dashboard's first load, the Cypher store build and a library query, each
with its own peak RSS, to the plain output and both Markdown tables; 1,000,000 identities need --million."""

from __future__ import annotations

import pytest

from bench import run

SLOW_KEYS = ["dashboard_first_load_s", "dashboard_peak_rss_mb", "cypher_store_build_s", "cypher_store_peak_rss_mb",
             "cypher_query_s", "cypher_query_peak_rss_mb", "cypher_query_rows"]


@pytest.fixture(scope="module")
def rows():
    return run.collect([300], "all", timeout_s=60)  # every stage, each in its own process (about 15 s)


def test_every_stage_has_a_positive_figure(rows):
    (row,) = rows
    assert all(row[key] > 0 for key in SLOW_KEYS)
    assert all(row[key] > 0 for _, key in run.STAGES)


def test_the_scan_is_its_stages_end_to_end(rows):
    (row,) = rows
    assert row["scan_s"] == pytest.approx(sum(row[key] for key in (
        "build_s", "analyse_s", "top_fixes_s", "snapshot_write_s", "reports_s")))
    assert row["reports_s"] < row["scan_s"]


def test_the_tables_show_the_new_stages(rows, capsys):
    run.print_markdown(rows)
    markdown = capsys.readouterr().out
    summary_head, stage_table = markdown.splitlines()[0], markdown.split("\n\n")[1]
    for column, _, _ in run.SLOW_STAGES:
        assert f"{column} (peak RSS)" in summary_head
    assert "| reports | scan |" in summary_head
    for label in ("dashboard: first load", "Cypher: store build", f"Cypher: {run.WHOLE_ORG_QUERY} (warm)",
                  "reports (md, html, json, csv, sarif)", "scan end to end (excluding reading the exports)"):
        assert f"| {label}" in stage_table
    run.print_plain(rows, ["identities", *SLOW_KEYS])
    plain = capsys.readouterr().out
    assert "dashboard: first load" in plain and "cypher_store_peak_rss_mb" in plain


def test_core_markdown_has_no_new_columns(rows, capsys):
    core = [{key: value for key, value in rows[0].items() if key not in SLOW_KEYS}]
    run.print_markdown(core)
    markdown = capsys.readouterr().out
    assert markdown.splitlines()[0].endswith("| peak RSS |")
    assert "dashboard" not in markdown and "Cypher" not in markdown


def test_a_million_only_with_the_flag(capsys, monkeypatch):
    with pytest.raises(SystemExit):
        run.main(["--sizes", "10000", "1000000"])
    assert "--million" in capsys.readouterr().err
    asked = []
    monkeypatch.setattr(run, "collect", lambda sizes, stages, timeout_s: asked.append((sizes, stages)) or [])
    monkeypatch.setattr(run, "print_plain", lambda rows, columns: None)
    run.main(["--sizes", "10000", "--million"])
    assert asked == [([10_000, 1_000_000], "core")]
