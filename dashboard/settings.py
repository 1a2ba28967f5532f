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


@dataclass(frozen=True)
class Settings:
    snapshots: Path  # a folder written by `crosspath scan --out` (snapshot.json.gz, history/)
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
