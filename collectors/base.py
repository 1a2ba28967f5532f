"""What every collector shares: file reading with clear errors, the per-item "use it or report it and
go on" loop (``checked``), the machine-identity heuristic.

A collector module exposes ``collect_offline(folder: Path) -> CollectResult`` (``graph.coverage``).
It reads the source's native export files (get), turns them into records with
pure ``transform_*`` functions, and never talks to a graph store. Timestamps: ``graph.times``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from graph.records import RecordError


class SourceFileError(Exception):
    """An export file that cannot be used at all; carries a RecordError for the report."""

    def __init__(self, error: RecordError):
        super().__init__(str(error))
        self.error = error


T = TypeVar("T")
R = TypeVar("R")


def checked(items: Iterable[T], check: Callable[[T], R],
            report: Callable[[RecordError], object]) -> Iterator[tuple[T, R]]:
    """Each item with what ``check`` made of it, in order. An item whose check raises SourceFileError
    is reported (its RecordError names file, record, field and fix) and skipped; the next one is tried.

    Lazy: each item is checked only when the loop asks for it, so a check sees what the loop body did
    with the items before it, and errors interleave with the body's notes as in a plain loop.
    """
    for item in items:
        try:
            value = check(item)
        except SourceFileError as exc:
            report(exc.error)
            continue
        yield item, value


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
