"""The sample organisation scanned into a scan output folder with two snapshots a week apart.

The older snapshot lacks dana.ruiz's Entra account (and so her finding), so Drift has a new
finding, a new identity and new edges to show, and svc-lambda-deployer's PassLambdaAdmin (so EX-2026-005
is outgrown in the newer one); the exceptions file is a copy the tests may edit.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crosspath.pipeline import (
    collect_folder,
    read_manifest,
    resolve_as_of,
    snapshot_metadata,
)
from crosspath.sample_history import NEWCOMER, save_as_scanned, write_week_earlier
from graph.builder import build_graph
from graph.times import iso

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
APP = ROOT / "app.py"
DANA = NEWCOMER


@dataclass
class SampleOut:
    folder: Path  # what `crosspath scan --out` writes: snapshot.arrow and history/
    exceptions: Path  # a writable copy of data/samples/exceptions.yaml
    older: Path
    newer: Path


def started_app() -> AppTest:
    """The dashboard as a user opens it (the environment an `app_env` fixture set), run once."""
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def open_page(app: AppTest, name: str) -> AppTest:
    app.sidebar.radio(key="page").set_value(name).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def write_sample_out(folder: Path) -> SampleOut:
    """As `crosspath demo` leaves it: the older snapshot records the exceptions' approvals, and the newer
    one carries on what a scan would (so EX-2026-005 is outgrown in it)."""
    folder.mkdir(parents=True, exist_ok=True)
    exceptions = folder / "exceptions.yaml"
    shutil.copyfile(SAMPLES / "exceptions.yaml", exceptions)
    write_week_earlier(SAMPLES, folder, None, exceptions)
    when = resolve_as_of(None, read_manifest(SAMPLES))
    newer = build_graph(collect_folder(SAMPLES), when)
    meta = snapshot_metadata(newer, when, str(SAMPLES), exceptions_path=exceptions)
    meta["created_at"] = iso(when)
    save_as_scanned(newer, meta, folder, exceptions, when)
    older_path, newer_path = sorted((folder / "history").iterdir())
    return SampleOut(folder, exceptions, older_path, newer_path)

@pytest.fixture
def sample_out(tmp_path: Path) -> SampleOut:
    return write_sample_out(tmp_path / "out")


@pytest.fixture
def app_env(sample_out: SampleOut, monkeypatch: pytest.MonkeyPatch) -> SampleOut:
    monkeypatch.setenv("CROSSPATH_SNAPSHOTS", str(sample_out.folder))
    monkeypatch.setenv("CROSSPATH_EXCEPTIONS", str(sample_out.exceptions))
    monkeypatch.delenv("CROSSPATH_POLICY", raising=False)
    return sample_out
