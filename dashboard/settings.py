"""Where the dashboard looks for snapshots, the policy and the exceptions file.

Command line (after `--`) wins over the environment, which wins over the defaults:

    streamlit run app.py -- --snapshots crosspath-out --exceptions data/samples/exceptions.yaml
    CROSSPATH_SNAPSHOTS=/var/lib/crosspath streamlit run app.py
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosspath.pipeline import file_hash, recorded_config


@dataclass(frozen=True)
class Settings:
    snapshots: Path  # a folder written by `crosspath scan --out` (snapshot.arrow, history/)
    policy: Path | None
    exceptions: Path | None


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def load_settings(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="streamlit run app.py --", add_help=False)
    parser.add_argument("--snapshots", default=env.get("CROSSPATH_SNAPSHOTS", "crosspath-out"))
    parser.add_argument("--policy", default=env.get("CROSSPATH_POLICY"))
    parser.add_argument("--exceptions", default=env.get("CROSSPATH_EXCEPTIONS"))
    args, _ = parser.parse_known_args(argv or [])
    exceptions = _path(args.exceptions)
    # The one file the Exceptions page writes: absolute and with links resolved now, so a later change
    # of directory or of a link does not move the write (dashboard/main.py keeps these per session).
    return Settings(Path(args.snapshots), _path(args.policy), exceptions.expanduser().resolve() if exceptions else None)


@dataclass(frozen=True)
class ScanConfig:
    """The policy and exceptions files the analysis on screen uses, and what to tell the analyst about them."""
    policy: Path | None
    exceptions: Path | None
    from_scan: tuple[str, ...] = ()  # "policy", "exceptions": taken from the snapshot, not from the settings
    notes: tuple[str, ...] = ()  # a recorded file gone or changed since the scan


def scan_config(settings: Settings, metadata: dict[str, Any]) -> ScanConfig:
    """Unless the settings name a policy or an exceptions file, the dashboard reads the ones the scan used
    (recorded in the snapshot's metadata, `scan_config`), so it shows the findings the scan reported."""
    chosen: dict[str, Path | None] = {"policy": settings.policy, "exceptions": settings.exceptions}
    from_scan, notes = [], []
    for name, given in list(chosen.items()):
        record = recorded_config(metadata, name)
        if record is None:
            continue
        path = record.path
        if given is not None:
            if file_hash(given) != record.sha256:
                notes.append(f"The {name} file `{given}` differs from the one the scan used (`{path}`): the "
                             "counts may differ from the scan's report.")
            continue
        if record.state == "gone":
            notes.append(f"The scan used the {name} file `{path}`, which is no longer there: findings are shown "
                         f"without it. Start the dashboard with `--{name} FILE` to choose one.")
            continue
        if record.state == "changed":
            notes.append(f"The {name} file `{path}` has changed since the scan: findings follow it as it is now.")
        chosen[name] = path
        from_scan.append(name)
    return ScanConfig(chosen["policy"], chosen["exceptions"], tuple(from_scan), tuple(notes))
