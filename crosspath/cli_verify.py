"""`crosspath verify OUT`: are the reports in OUT the ones the scan wrote? Recomputes every hash
OUT/evidence.json records (crosspath/evidence.py, docs/evidence.md). Registered on the main group by
crosspath/cli.py (`register(main)`).

Exit 0 when every report and the snapshot match; 1 when one was edited or is missing, or evidence.json
is absent or unreadable. A policy or exceptions file changed since the scan is said, not failed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crosspath.evidence import (
    CHANGED,
    EVIDENCE_NAME,
    MISSING,
    NOT_CHECKED,
    OK,
    EvidenceError,
    Verification,
    verify,
)
from queries.reports.terminal_text import safe

_LABEL = {OK: "ok", CHANGED: "CHANGED", MISSING: "MISSING", NOT_CHECKED: "not checked"}
_NOTE = {
    ("report", CHANGED): "edited since the scan wrote it",
    ("report", MISSING): "written by the scan, gone now",
    ("snapshot", CHANGED): "not the snapshot the reports were made from",
    ("snapshot", MISSING): "the snapshot the reports were made from is gone",
    ("policy", CHANGED): "changed since the scan (the reports used the earlier version)",
    ("exceptions", CHANGED): "changed since the scan (the reports used the earlier version)",
    ("policy", NOT_CHECKED): "no longer there",
    ("exceptions", NOT_CHECKED): "no longer there",
}


def _lines(result: Verification) -> list[str]:
    lines = []
    for check in result.checks:
        note = _NOTE.get((check.role, check.status), "")
        lines.append(f"{_LABEL[check.status]:12} {check.role:10} {check.path}" + (f"  ({note})" if note else ""))
    failed = [check for check in result.checks if check.fails]
    snapshot_id = (result.evidence.get("snapshot") or {}).get("id")
    if failed:
        listed = ", ".join(f"{check.path} {_LABEL[check.status]}" for check in failed)
        lines.append(f"FAILED: {listed}: {result.out_dir} no longer holds what the scan of snapshot {snapshot_id} "
                     f"wrote ({EVIDENCE_NAME} of {result.evidence.get('written_at')}); re-run `crosspath scan` "
                     "(or `crosspath report`) to write the reports again")
    else:
        reports = sum(check.role == "report" for check in result.checks)
        lines.append(f"verified: {reports} report(s) and the snapshot {snapshot_id} match {EVIDENCE_NAME} "
                     f"(written {result.evidence.get('written_at')} by crosspath {result.evidence.get('tool_version')})")
    return lines


def register(main: click.Group) -> None:
    @main.command("verify")
    @click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    def verify_command(out_dir: Path, as_json: bool) -> None:
        """Check that the reports and the snapshot in OUT are the ones the scan wrote: recompute every
        sha256 in OUT/evidence.json. Exit 1 when one was edited or is missing, or there is no evidence."""
        try:
            result = verify(out_dir)
        except EvidenceError as exc:
            if as_json:
                click.echo(json.dumps({"out": str(out_dir), "ok": False, "error": str(exc), "checks": []}, indent=2))
            click.echo(f"error: {safe(exc)}", err=True)
            sys.exit(1)
        if as_json:
            click.echo(json.dumps(result.to_dict(), indent=2))
        else:
            for line in _lines(result):
                click.echo(safe(line))  # paths come from a file anyone may have edited
        sys.exit(0 if result.ok else 1)
