"""Run evidence: `evidence.json` beside the reports says which snapshot, policy and exceptions they were
made from and the sha256 of every file written, so an auditor can check later (`crosspath verify OUT`)
that the reports are the ones the scan wrote. docs/evidence.md.

Written by `crosspath scan` and `crosspath report` through crosspath/pipeline.py `write_outputs`, after
the reports; recomputed by crosspath/cli_verify.py. The file is not signed: it proves the reports match
it, and a copy of it (or its hash) kept elsewhere proves it was not rewritten as well.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crosspath import __version__
from graph.snapshot import write_atomic
from graph.times import iso
from queries.findings import Analysis

EVIDENCE_NAME = "evidence.json"
FORMAT = "crosspath-evidence"
VERSION = 1
CONFIG_ROLES = ("policy", "exceptions")

# Verification statuses, one per file checked.
OK, CHANGED, MISSING, NOT_CHECKED = "ok", "changed", "missing", "not_checked"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recorded_path(path: Path, out_dir: Path) -> str:
    """Relative to OUT when the file is inside it (the folder can be archived or moved), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(out_dir.resolve()).as_posix()
    except ValueError:
        return str(resolved)


def _file_record(path: Path, out_dir: Path) -> dict[str, Any]:
    return {"path": _recorded_path(path, out_dir), "sha256": sha256_file(path), "bytes": path.stat().st_size}


def evidence(analysis: Analysis, out_dir: Path, reports: dict[str, Path], snapshot: Path,
             config: dict[str, dict[str, str] | None]) -> dict[str, Any]:
    """What evidence.json holds. `reports` is write_reports' {format: path}; `config` the policy and
    exceptions files the analysis used, as pipeline.config_record gives them (None when none)."""
    summary = analysis.summary()
    coverage = analysis.metadata.get("coverage") or {}
    return {
        "format": FORMAT,
        "version": VERSION,
        "tool_version": __version__,
        "written_at": iso(datetime.now(UTC)),
        "as_of": analysis.as_of,
        "snapshot": {
            "id": analysis.metadata.get("snapshot_id"),
            "collected_at": analysis.metadata.get("collected_at"),
            **_file_record(snapshot, out_dir),
        },
        "config": {role: config.get(role) for role in CONFIG_ROLES},
        "coverage": {source: (entry or {}).get("status") for source, entry in sorted(coverage.items())},
        "findings": {"open": summary["open"], "excepted": summary["excepted"]},
        "exceptions": summary["exceptions"],
        "reports": [{"format": name, **_file_record(path, out_dir)} for name, path in reports.items()],
    }


def write_evidence(analysis: Analysis, out_dir: Path, reports: dict[str, Path], snapshot: Path,
                   config: dict[str, dict[str, str] | None]) -> Path:
    path = Path(out_dir) / EVIDENCE_NAME
    record = evidence(analysis, Path(out_dir), reports, snapshot, config)
    write_atomic(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), mode=0o644)  # as the reports
    return path


class EvidenceError(Exception):
    """evidence.json is absent, unreadable or not Crosspath's; says which file and what to do."""


@dataclass
class Check:
    role: str  # report | snapshot | policy | exceptions
    path: str  # as recorded in evidence.json
    status: str  # ok | changed | missing | not_checked
    expected_sha256: str
    actual_sha256: str | None = None

    @property
    def fails(self) -> bool:
        """A report or the snapshot that no longer matches fails verification; a policy or exceptions
        file edited or removed since the scan is said, not failed (they are inputs, and live on)."""
        return self.role in ("report", "snapshot") and self.status != OK

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fails": self.fails}


@dataclass
class Verification:
    out_dir: Path
    evidence: dict[str, Any]
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(check.fails for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out_dir),
            "ok": self.ok,
            "snapshot_id": (self.evidence.get("snapshot") or {}).get("id"),
            "written_at": self.evidence.get("written_at"),
            "tool_version": self.evidence.get("tool_version"),
            "checks": [check.to_dict() for check in self.checks],
        }


def read_evidence(out_dir: Path) -> dict[str, Any]:
    path = Path(out_dir) / EVIDENCE_NAME
    fix = f"re-run `crosspath scan` (or `crosspath report`) with --out {out_dir} to write the reports and it again"
    if not path.is_file():
        raise EvidenceError(f"no {EVIDENCE_NAME} in {out_dir}: nothing to verify against; {fix}")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EvidenceError(f"{path} is unreadable ({exc}); {fix}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise EvidenceError(f"{path} is not Crosspath run evidence (no \"format\": \"{FORMAT}\"); {fix}")
    if record.get("version") != VERSION or not isinstance(record.get("reports"), list) \
            or not isinstance(record.get("snapshot"), dict):
        raise EvidenceError(f"{path}: unknown evidence version {record.get('version')!r} or missing fields "
                            f"(this crosspath reads version {VERSION}); {fix}")
    return record


def _check(role: str, recorded: dict[str, Any], out_dir: Path) -> Check:
    shown = str(recorded.get("path", ""))
    expected = str(recorded.get("sha256", ""))
    path = Path(shown) if Path(shown).is_absolute() else out_dir / shown
    if not shown or not path.is_file():
        return Check(role, shown, NOT_CHECKED if role in CONFIG_ROLES else MISSING, expected)
    actual = sha256_file(path)
    return Check(role, shown, OK if actual == expected else CHANGED, expected, actual)


def verify(out_dir: Path) -> Verification:
    """Recompute every hash evidence.json records; raises EvidenceError when there is none to read."""
    out_dir = Path(out_dir)
    record = read_evidence(out_dir)
    checks = [_check("report", entry, out_dir) for entry in record["reports"] if isinstance(entry, dict)]
    checks.append(_check("snapshot", record["snapshot"], out_dir))
    for role in CONFIG_ROLES:
        used = (record.get("config") or {}).get(role)
        if isinstance(used, dict):
            checks.append(_check(role, used, out_dir))
    return Verification(out_dir, record, checks)


def remove_evidence(out_dir: Path) -> None:
    """With the reports, before a scan switches the snapshot: evidence of the older one must not stay."""
    (Path(out_dir) / EVIDENCE_NAME).unlink(missing_ok=True)

