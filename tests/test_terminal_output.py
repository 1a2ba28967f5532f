"""Terminal output: names from customer data never act on the terminal nor read as Rich markup.

Every node name of the sample organisation is prefixed with ESC[2J (clear the screen) and
`[bold]x[/]`; each command that prints names (scan / report summary, diff, blast-radius, cypher
tables, techniques) runs with Rich writing as to a colour terminal, and its output must carry neither
the escape (it shows as the text \\x1b) nor interpreted markup (the brackets show as written).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

import crosspath.cli
import crosspath.cli_cypher
import crosspath.cli_techniques
from crosspath.cli import main
from crosspath.pipeline import collect_folder, read_manifest, resolve_as_of, save_snapshot, snapshot_metadata
from graph.builder import build_graph
from graph.times import iso
from queries.reports.terminal_text import safe, text

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
DANA = "entra:a1000000-0000-4000-8000-000000000001"
TAINT = "\x1b[2J[bold]x[/]"


def _assert_safe(output: str) -> None:
    assert "\x1b[2J" not in output, "a control sequence from customer data reached the terminal"
    assert "[bold]x[/]" in output, "customer text was read as markup (or not printed)"
    assert "\\x1b[2J" in output  # the reader sees what was there


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(older, newer): every node name tainted; the older one lacks dana.ruiz, so diff has a new finding."""
    folder = tmp_path_factory.mktemp("tainted")
    when = resolve_as_of(None, read_manifest(SAMPLES))
    paths = []
    for at, drop in ((when - timedelta(days=7), True), (when, False)):
        build = build_graph(collect_folder(SAMPLES), at)
        if drop:
            build.graph.remove_node(DANA)
        for _, data in build.graph.nodes(data=True):
            data["name"] = TAINT + str(data.get("name", ""))
        meta = snapshot_metadata(build, at, str(SAMPLES))
        meta["created_at"] = iso(at)
        save_snapshot(build, meta, folder)
    paths = sorted((folder / "history").iterdir())
    return paths[0], paths[1]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's consoles write as to a wide colour terminal (styles on), into CliRunner's streams."""
    for module, names in ((crosspath.cli, ("stdout", "stderr")), (crosspath.cli_cypher, ("stdout", "stderr")),
                          (crosspath.cli_techniques, ("stdout",))):
        for name in names:
            monkeypatch.setattr(module, name, Console(force_terminal=True, color_system="truecolor", width=400,
                                                      stderr=name == "stderr"))


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (0, 3), result.output
    return result.output


def test_report_summary_prints_names_safely(snapshots, terminal, tmp_path):
    _assert_safe(_run("report", "--snapshot", str(snapshots[1]), "--out", str(tmp_path), "--format", "json"))


def test_scan_summary_and_warnings_print_names_and_markup_safely(terminal, tmp_path):
    samples = tmp_path / "samples"
    shutil.copytree(SAMPLES, samples)
    users = samples / "entra" / "users.page2.json"  # the first finding's entry: its displayName shows
    users.write_text(users.read_text().replace('"Break Glass (emergency', '"\\u001b[2J[bold]x[/]Break Glass (emergency'))
    (samples / "aws" / "222222222222" / "authorization-details.json").write_text("{not json")
    output = _run("scan", str(samples), "--out", str(tmp_path / "out"), "--format", "json")
    _assert_safe(output)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)  # without the styles Rich added
    assert "warning: aws: " in plain and "[yellow]" not in plain  # the warning's own markup applied, not shown


def test_diff_prints_finding_titles_safely(snapshots, terminal):
    output = _run("diff", str(snapshots[0]), str(snapshots[1]))
    assert " new " in output
    _assert_safe(output)


def test_blast_radius_prints_target_names_and_the_node_id_safely(snapshots, terminal):
    _assert_safe(_run("blast-radius", DANA, "--snapshot", str(snapshots[1])))
    missing = CliRunner().invoke(main, ["blast-radius", "[bold]x[/]\x1b[2J", "--snapshot", str(snapshots[1])])
    assert missing.exit_code == 1
    _assert_safe(missing.output)


def test_cypher_table_prints_values_and_column_names_safely(snapshots, terminal):
    output = _run("cypher", "MATCH (n:Identity {id: $id}) RETURN n.name AS `[bold]x[/]`", "-p", f"id={DANA}",
                  "--snapshot", str(snapshots[1]))
    _assert_safe(output)
    assert output.count("[bold]x[/]") == 2  # the column header and the value, both as written


def test_techniques_table_prints_catalogue_text_safely(terminal, monkeypatch):
    original = crosspath.cli_techniques.techniques_of

    def tainted(source: str | None):
        return [dataclasses.replace(t, title=TAINT + t.title) for t in original(source)][:3]

    monkeypatch.setattr(crosspath.cli_techniques, "techniques_of", tainted)
    _assert_safe(_run("techniques"))


def test_safe_text_escapes_controls_bidi_and_line_breaks_and_keeps_ordinary_text():
    assert safe("Dana Ruiz · Zoë 名前") == "Dana Ruiz · Zoë 名前"
    assert safe("a\x1b[2Jb\rc\x07") == "a\\x1b[2Jb\\x0dc\\x07"
    assert safe("admin\u202egnp.exe") == "admin\\u202egnp.exe"  # right-to-left override
    assert safe("two\nlines") == "two\\x0alines" and safe("two\nlines", multiline=True) == "two\nlines"
    assert text("[bold]x[/]", "red").plain == "[bold]x[/]"  # a Text: never markup
