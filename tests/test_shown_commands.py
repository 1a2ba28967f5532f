"""Every command README.md and docs/ show as runnable runs, and prints what they show.

The convention (README.md, under its first commands, and docs/architecture.md "Tested documentation"):

- a fenced ``sh`` block preceded by the line ``<!-- runnable -->`` is run, line by line, in one
  temporary folder per Markdown file (``data`` linked to the clone's ``data``), so a later block sees
  what an earlier one wrote (the scan, then the queries on its snapshot);
- ``crosspath`` and ``.venv/bin/crosspath`` are the CLI (click's CliRunner), run from that folder;
  ``cat FILE`` shows a file a command wrote there (a report);
- a command exits 0 unless its line ends with ``# exits N``;
- the fenced ``text`` block right after a runnable block is what the block's commands print, all of
  it, whitespace-normalised; ``...`` in it stands for any text (an elision);
- ``# -> shown`` after a command is a part of what that command prints (``...`` allowed there too).

Blocks that need servers or credentials (live collection) are plain ``sh``: shown, never run. A
command on the sample organisation (``data/samples``) shown in any other block fails the test: what
can run offline is runnable.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspath.cli import main

ROOT = Path(__file__).resolve().parent.parent
MARK = "<!-- runnable -->"
FENCE = re.compile(r"^(`{3,})\s*(\S*)")
EXITS = re.compile(r"\s+#\s*exits\s+(\d+)\s*$")
INLINE = re.compile(r"\s+#\s*->\s*(.*)$")


@dataclass
class Command:
    argv: list[str]
    line: str
    exit_code: int = 0
    inline: str | None = None
    cat: bool = False


@dataclass
class Block:
    path: Path
    line: int
    commands: list[Command] = field(default_factory=list)
    shown: str | None = None

    @property
    def name(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{self.line}"


def _fences(lines: list[str]):
    """(start line index, info string, body lines, index after the closing fence) of each fenced block."""
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        ticks, info = opened.groups()
        end = i + 1
        while end < len(lines) and not lines[end].startswith(ticks):
            end += 1
        yield i, info, lines[i + 1:end], end + 1
        i = end + 1


def _command(line: str, where: str) -> Command:
    exit_code, inline = 0, None
    if found := EXITS.search(line):
        exit_code, line = int(found.group(1)), line[:found.start()]
    if found := INLINE.search(line):
        inline, line = found.group(1), line[:found.start()]
    argv = shlex.split(line, comments=True)
    if argv and argv[0] in ("crosspath", ".venv/bin/crosspath"):
        return Command(argv[1:], line.strip(), exit_code, inline)
    if len(argv) == 2 and argv[0] == "cat":
        return Command(argv[1:], line.strip(), exit_code, inline, cat=True)
    raise AssertionError(f"{where}: a runnable block runs crosspath or cat FILE only, not {line.strip()!r}")


@dataclass
class Printed:
    output: str
    exit_code: int = 0
    exception: BaseException | None = None


def _run(runner: CliRunner, command: Command, folder: Path) -> Printed:
    if command.cat:
        file = folder / command.argv[0]
        return Printed(file.read_text()) if file.is_file() else Printed(f"cat: {command.argv[0]}: no such file", 1)
    result = runner.invoke(main, command.argv, catch_exceptions=True)
    return Printed(result.output, result.exit_code, result.exception)


def runnable_blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    fences = list(_fences(lines))
    for n, (start, info, body, after) in enumerate(fences):
        if info != "sh" or start == 0 or lines[start - 1].strip() != MARK:
            continue
        block = Block(path, start + 1)
        pending = ""
        for text in body:
            if text.rstrip().endswith("\\"):
                pending += text.rstrip()[:-1] + " "
                continue
            text, pending = pending + text, ""
            if text.strip() and not text.strip().startswith("#"):
                block.commands.append(_command(text, block.name))
        following = fences[n + 1] if n + 1 < len(fences) else None
        if following and following[1] == "text" and not any(line.strip() for line in lines[after:following[0]]):
            block.shown = "\n".join(following[2])
        blocks.append(block)
    return blocks


def shown_pattern(shown: str) -> re.Pattern:
    """Whitespace-normalised, `...` standing for any text."""
    parts = [" ".join(part.split()) for part in shown.split("...")]
    return re.compile(r"\s*(?:.*?)\s*".join(re.escape(part) for part in parts), re.DOTALL)


def normalised(output: str) -> str:
    return " ".join(output.split())


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def run_blocks(blocks: list[Block], folder: Path) -> list[str]:
    """Runs each block in `folder`; the list of what differs from what is shown (empty: all as shown)."""
    problems = []
    runner = CliRunner()
    for block in blocks:
        printed = []
        for command in block.commands:
            result = _run(runner, command, folder)
            if result.exception and not isinstance(result.exception, SystemExit):
                problems.append(f"{block.name}: {command.line!r} raised {result.exception!r}\n{result.output}")
                continue
            if result.exit_code != command.exit_code:
                problems.append(f"{block.name}: {command.line!r} exited {result.exit_code}, shown "
                                f"{command.exit_code}\n{result.output}")
            if command.inline is not None and not shown_pattern(command.inline).search(normalised(result.output)):
                problems.append(f"{block.name}: {command.line!r} does not print {command.inline!r}:\n{result.output}")
            printed.append(result.output)
        if block.shown is not None and not shown_pattern(block.shown).fullmatch(normalised("\n".join(printed))):
            problems.append(f"{block.name}: the text block shown is not what its commands print:\n"
                            + "\n".join(printed))
    return problems


def _runnable_documents() -> list[Path]:
    return [path for path in documents() if runnable_blocks(path)]


@pytest.mark.parametrize("path", _runnable_documents(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_runnable_command_prints_what_is_shown(path, tmp_path, monkeypatch):
    (tmp_path / "data").symlink_to(ROOT / "data")
    monkeypatch.chdir(tmp_path)
    problems = run_blocks(runnable_blocks(path), tmp_path)
    assert not problems, "\n\n".join(problems)


SAMPLE_COMMAND = re.compile(r"^\s*(?:\$\s+)?(?:\.venv/bin/)?crosspath\s.*\bdata/samples\b")


def commands_on_the_sample_not_runnable(path: Path) -> list[str]:
    """`file:line` of each command on the sample in a block that is not runnable (shown, never checked)."""
    lines = path.read_text().splitlines()
    runnable = {block.line for block in runnable_blocks(path)}
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return [f"{shown}:{start + 1 + n}: {line.strip()}"
            for start, _, body, _ in _fences(lines) if start + 1 not in runnable
            for n, line in enumerate(body, 1) if SAMPLE_COMMAND.match(line)]


def test_every_command_on_the_sample_is_runnable():
    shown_only = [found for path in documents() for found in commands_on_the_sample_not_runnable(path)]
    assert not shown_only, ("commands on data/samples run offline: mark their block <!-- runnable --> and show "
                            "what they print:\n" + "\n".join(shown_only))


def test_the_readme_shows_runnable_commands_with_their_output():
    blocks = runnable_blocks(ROOT / "README.md")
    assert blocks and any(block.shown for block in blocks)
    assert all(block.commands for block in blocks), [block.name for block in blocks if not block.commands]


# -- the harness itself -------------------------------------------------------------------------------

def test_the_harness_reads_the_convention(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- runnable -->\n```sh\ncrosspath a --b \\\n  c   # -> shown ... here\n"
                   "crosspath d  # exits 1\ncat out/report.md\n```\n\n```text\nout\n```\n\n```sh\ncrosspath not-run\n```\n")
    (block,) = runnable_blocks(doc)
    assert [command.argv for command in block.commands] == [["a", "--b", "c"], ["d"], ["out/report.md"]]
    assert block.commands[2].cat
    assert block.commands[0].inline == "shown ... here" and block.commands[1].exit_code == 1
    assert block.shown == "out"


def test_a_command_on_the_sample_outside_a_runnable_block_is_found(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- runnable -->\n```sh\ncrosspath scan data/samples --quiet\n```\n\n"
                   "```\n$ crosspath scan data/samples --exceptions data/samples/exceptions.yaml\n```\n\n"
                   "```sh\ncrosspath collect aws --out exports\n```\n")
    assert commands_on_the_sample_not_runnable(doc) == [
        f"{doc}:7: $ crosspath scan data/samples --exceptions data/samples/exceptions.yaml"]


def test_the_shown_output_allows_elisions_and_nothing_else():
    assert shown_pattern("a  b\n...\nz").fullmatch(normalised("a b\nmany\nlines\nz"))
    assert shown_pattern("a ... z").fullmatch("a z")
    assert not shown_pattern("a b z").fullmatch("a b c z")
    assert not shown_pattern("3 rows").fullmatch("9 rows")
