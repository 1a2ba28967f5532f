"""What every collector shares: its result type, file reading with clear errors, dates.

A collector module exposes ``collect_offline(folder: Path) -> CollectResult``.
It reads the source's native export files (get), turns them into records with
pure ``transform_*`` functions, and never talks to a graph store.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graph.records import Record, RecordError


class SourceFileError(Exception):
    """An export file that cannot be used at all; carries a RecordError for the report."""

    def __init__(self, error: RecordError):
        super().__init__(str(error))
        self.error = error


@dataclass
class Coverage:
    """What one source run saw: which files, how many records, what failed."""

    source: str
    status: str = "complete"  # complete | partial | missing | failed
    files: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)  # accounts, tenants, projects, clusters, servers
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "files": self.files,
            "scopes": self.scopes,
            "counts": self.counts,
            "notes": self.notes,
        }


@dataclass
class CollectResult:
    """Records from one source plus what was covered and what went wrong."""

    source: str
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    coverage: Coverage | None = None
    # Per-file record batches, so validation errors can name the file a record came from.
    origins: list[tuple[str, int, int]] = field(default_factory=list)
    # Index of coverage.files, so adding 10,000s of files stays linear; rebuilt if the list changed size.
    _file_index: set[str] = field(default_factory=set, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.coverage is None:
            self.coverage = Coverage(self.source)

    def add(self, file: str, nodes: list[Record], edges: list[Record]) -> None:
        """Append one file's records and remember which file they came from."""
        self.origins.append((file, len(nodes), len(edges)))
        self.nodes.extend(nodes)
        self.edges.extend(edges)
        files = self.coverage.files
        if len(self._file_index) != len(files):
            self._file_index = set(files)
        if file not in self._file_index:
            files.append(file)
            self._file_index.add(file)

    def fail(self, error: RecordError) -> None:
        self.errors.append(error)
        if self.coverage.status == "complete":
            self.coverage.status = "partial"


def read_json(path: Path, source: str) -> Any:
    """Load a JSON file, or raise SourceFileError naming the file, line and fix."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourceFileError(
            RecordError(source, str(path), "", "", f"cannot read file: {exc.strerror}", "check the path")
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceFileError(
            RecordError(
                source,
                str(path),
                "",
                "",
                f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                "re-export the file with the documented command (JSON output)",
            )
        ) from exc


def read_csv(path: Path, source: str) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise SourceFileError(
            RecordError(source, str(path), "", "", f"cannot read CSV: {exc}", "re-export the file")
        ) from exc


def require(obj: Any, key: str, source: str, file: str, record: str, fix: str = "") -> Any:
    """Return obj[key] or raise SourceFileError naming the missing field."""
    if not isinstance(obj, dict) or key not in obj:
        raise SourceFileError(
            RecordError(source, file, record, key, "required field is missing",
                        fix or "re-export with the documented command")
        )
    return obj[key]


def json_files(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.rglob("*.json") if p.is_file())


_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: Any) -> datetime | None:
    """Parse the timestamp shapes the sources use (ISO 8601 with Z, offsets, dates); None if absent."""
    if value in (None, "", "N/A", "not_supported", "no_information"):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip().replace("Z", "+00:00")
    if " " in text and "T" not in text:
        text = text.replace(" ", "T", 1)
    # Python 3.11 accepts up to 6 fractional digits; Graph and k8s may send 7.
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """The one timestamp form stored in records: ISO 8601, UTC, seconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


_SERVICE_NAME = re.compile(
    r"(^(svc|sa|app|bot|ci|cd|srv|service|system|automation)[-_.])|([-_.](svc|bot|ci|sa|app|service|automation)$)"
    r"|(^(terraform|jenkins|gitlab|github|deploy|etl|runner)[-_.]?)",
    re.IGNORECASE,
)


def looks_like_service_account(name: str, tags: dict[str, str] | None = None) -> bool:
    """Naming / tagging heuristic for machine identities where the source has no such flag.

    Tags win: `human=true|false`, `type|identity-type|kind = service|machine|human`.
    """
    for key, value in (tags or {}).items():
        key_l, value_l = key.lower(), str(value).lower()
        if key_l == "human":
            return value_l not in ("true", "yes", "1")
        if key_l in ("type", "identity-type", "identity_type", "kind", "account-type"):
            if value_l in ("service", "machine", "nhi", "workload", "bot", "automation"):
                return True
            if value_l in ("human", "person", "user", "employee"):
                return False
    return bool(_SERVICE_NAME.search(name))
