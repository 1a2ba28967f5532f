"""Issue 19, entry points: `pip install .` gives a `crosspath` with the sample organisation inside, so
`crosspath demo` scans it and `crosspath dashboard` opens it, from any folder.

The wheel test builds the wheel from this checkout, installs it (no dependencies) into a fresh virtual
environment that sees this interpreter's installed dependencies through a .pth file (no downloads), and
runs the installed `crosspath` from a folder outside the repository: about 10-20 s."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from crosspath import cli_demo
from crosspath.cli import main
from graph.snapshot import read_metadata, read_snapshot

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SUMMARY = re.compile(r"Crosspath as of \S+: (\d+) open findings, (\d+) excepted")


def _finding_ids(folder: Path) -> list[str]:
    return sorted(f["id"] for f in json.loads((folder / "findings.json").read_text())["findings"])


def test_the_packaged_sample_is_the_repository_sample():
    """crosspath/samples is a link to data/samples (one copy): the demo scans the clone's folder."""
    assert cli_demo.sample_folder() == SAMPLES.resolve()
    assert (ROOT / "crosspath" / "samples").resolve() == SAMPLES.resolve()


def test_demo_scans_the_sample_into_out_with_a_copy_of_its_exceptions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--out", "here"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "here"
    for name in ("snapshot.arrow", "report.html", "report.md", "findings.json", "findings.csv"):
        assert (out / name).is_file(), name
    assert (out / "exceptions.yaml").read_text() == (SAMPLES / "exceptions.yaml").read_text()
    summary = SUMMARY.search(result.output)
    assert summary and int(summary[1]) > 0 and summary[2] == "2", result.output  # EX-2026-001 and -003 (005 outgrew)
    assert "crosspath dashboard --out here" in result.output
    # The scan recorded the copy, so the dashboard reads and edits it, never the packaged sample.
    metadata = read_metadata(out / "snapshot.arrow")
    assert metadata["scan_config"]["exceptions"]["path"] == str((out / "exceptions.yaml").resolve())

    (out / "exceptions.yaml").write_text("exceptions: []\n")  # the analyst's edits survive another demo
    again = CliRunner().invoke(main, ["demo", "--out", "here"])
    assert again.exit_code == 0, again.output
    assert "Using the exceptions already in here/exceptions.yaml" in again.output
    assert SUMMARY.search(again.output)[2] == "0"


def test_a_first_demo_leaves_a_week_of_history_for_drift_and_the_trend(tmp_path, monkeypatch):
    """The sample a week earlier (before Dana Ruiz's account) is saved first, once: Drift has a new finding."""
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["demo"]).exit_code == 0
    history = sorted((tmp_path / "crosspath-out" / "history").glob("*.arrow"))
    assert len(history) == 2
    (older, older_metadata), (newer, newer_metadata) = (read_snapshot(path) for path in history)
    assert older_metadata["collected_at"] < newer_metadata["collected_at"]
    assert "a week before" in older_metadata["sample_history"] and "sample_history" not in newer_metadata
    assert set(newer) - set(older) == {"entra:a1000000-0000-4000-8000-000000000001"}
    diff = CliRunner().invoke(main, ["diff", str(history[0]), str(history[1])])
    assert "dana" in diff.output.lower(), diff.output
    quiet = CliRunner().invoke(main, ["diff", str(history[0]), str(history[1]), "--quiet", "--fail-on-new"])
    assert (quiet.exit_code, quiet.output) == (3, "")  # new since a week earlier; nothing printed
    assert CliRunner().invoke(main, ["demo"]).exit_code == 0  # a second demo adds its own scan, no second week
    assert len(list((tmp_path / "crosspath-out" / "history").glob("*.arrow"))) == 3


def test_dashboard_starts_streamlit_on_the_scan_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = CliRunner().invoke(main, ["dashboard"])
    assert missing.exit_code == 1 and "run `crosspath demo`" in missing.output
    assert CliRunner().invoke(main, ["demo"]).exit_code == 0  # default --out crosspath-out
    started = []
    monkeypatch.setattr(cli_demo.os, "execv", lambda exe, argv: started.append(argv))
    result = CliRunner().invoke(main, ["dashboard", "--port", "8599"])
    assert result.exit_code == 0, result.output
    (argv,) = started
    assert argv[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert Path(argv[4]) == cli_demo.DASHBOARD_SCRIPT and Path(argv[4]).is_file()
    assert "--server.address=127.0.0.1" in argv and "--server.port=8599" in argv
    assert argv[argv.index("--"):] == ["--", "--snapshots", str(tmp_path / "crosspath-out")]


def test_dashboard_flags_match_the_repository_streamlit_config():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    flat = {f"{section}.{key}": str(value).lower() for section, values in config.items()
            for key, value in values.items()}
    assert cli_demo.STREAMLIT_SETTINGS == flat


def test_the_packaged_dashboard_script_renders_the_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["demo"]).exit_code == 0
    monkeypatch.setenv("CROSSPATH_SNAPSHOTS", str(tmp_path / "crosspath-out"))
    monkeypatch.delenv("CROSSPATH_EXCEPTIONS", raising=False)
    monkeypatch.delenv("CROSSPATH_POLICY", raising=False)
    monkeypatch.setattr(sys, "argv", ["dashboard_app.py"])
    app = AppTest.from_file(str(cli_demo.DASHBOARD_SCRIPT), default_timeout=60).run()
    assert not app.exception, app.exception
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert "exceptions" in captions and "(the scan's)" in captions


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _build_wheel(into: Path) -> Path:
    attempts = [[], ["--no-build-isolation"]]  # the second for hosts without access to the package index
    errors = []
    for extra in attempts:
        run = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(into),
                              *extra], check=False, capture_output=True, text=True, timeout=300)
        wheels = sorted(into.glob("crosspath-*.whl"))
        if run.returncode == 0 and wheels:
            return wheels[0]
        errors.append(f"pip wheel {' '.join(extra)}: {run.stderr.strip()[-500:]}")
    pytest.skip("cannot build a wheel here (needs setuptools>=77 from the package index or installed):\n"
                + "\n".join(errors))


def test_wheel_install_runs_demo_and_dashboard_outside_the_repository(tmp_path):
    wheel = _build_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # This interpreter's dependencies, added as a plain path: its .pth files (the clone's editable install
    # among them) are not processed, so `crosspath` can only come from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    crosspath = venv / "bin" / "crosspath"

    probe = "import crosspath, crosspath.cli_demo as d; print(crosspath.__file__); print(d.sample_folder())"
    where = subprocess.run([python, "-c", probe],
                           cwd=elsewhere, env=env, check=True, capture_output=True, text=True).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where

    demo = subprocess.run([crosspath, "demo", "--out", str(tmp_path / "out")], check=False, cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = tmp_path / "out"
    for name in ("snapshot.arrow", "report.html", "report.md", "findings.json", "findings.sarif",
                 "exceptions.yaml"):
        assert (out / name).is_file(), name
    summary = SUMMARY.search(demo.stdout)
    assert summary, demo.stdout
    assert str(Path(where[1])) in demo.stdout and "crosspath dashboard --out" in demo.stdout
    # The same findings as the clone's sample gives.
    runner_out = tmp_path / "clone-out"
    assert CliRunner().invoke(main, ["demo", "--out", str(runner_out)]).exit_code == 0
    assert _finding_ids(out) == _finding_ids(runner_out)
    assert int(summary[1]) + int(summary[2]) == len(_finding_ids(out))

    port = _free_port()
    server = subprocess.Popen([crosspath, "dashboard", "--out", str(out), "--port", str(port)], cwd=elsewhere,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, health = time.monotonic() + 60, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    health = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert health == "ok", f"dashboard did not start: exit {server.poll()}"
    finally:
        server.terminate()
        try:
            output = server.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            server.kill()
            output = server.communicate()[0]
    assert "Traceback" not in output, output
