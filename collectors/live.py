"""What every live collector shares: the export folder it writes, the denied-call log, progress.

Live collection is "get" only: it calls the source's official SDK read-only and writes the
same native export files the offline collector reads, under ``<out>/<source>/``, plus
``<out>/<source>/collection.json`` (when it ran, against which scopes, which calls were
denied or failed). ``crosspath scan <out>`` then builds the graph from them, so live and
offline collection share one transform and every live run leaves an auditable export.

A live collector module is ``collectors/<source>/live.py`` and exposes ``command``: a
``click.Command`` named after the source, decorated with ``out_option``. ``crosspath collect``
lists them.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from collectors.base import MISSING, SourceFileError, file_problem, json_type, read_json
from graph.coverage import CollectResult
from graph.records import RecordError
from graph.times import iso

LOG_NAME = "collection.json"
MANIFEST_NAME = "manifest.json"

out_option = click.option(
    "--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=Path("exports"),
    show_default=True,
    help="Export root; files go to OUT/<source>/ and `crosspath scan OUT` reads them.",
)
quiet_option = click.option("--quiet", is_flag=True, help="No progress bar.")


@dataclass
class Problem:
    """A call that was denied or failed; the run goes on and coverage says so."""

    call: str
    scope: str
    error: str
    kind: str = "denied"  # denied | failed | throttled

    def to_dict(self) -> dict[str, str]:
        return {"call": self.call, "scope": self.scope, "error": self.error, "kind": self.kind}


@dataclass
class LiveRun:
    """One live collection of one source into ``out_root/source``."""

    source: str
    out_root: Path
    quiet: bool = False
    scopes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def folder(self) -> Path:
        return Path(self.out_root) / self.source

    def write(self, relative: str, data: Any) -> Path:
        """Write one export file atomically (temp file + rename); returns its path."""
        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = data if isinstance(data, str) else json.dumps(data, indent=1, default=_json_default)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def denied(self, call: str, scope: str, error: Any, kind: str = "denied") -> None:
        """Record a denied / failed call. Only the error's class and message are kept, never request data."""
        message = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
        self.problems.append(Problem(call, scope, message[:500], kind))

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def finish(self) -> dict[str, Any]:
        """Write collection.json and bump the export root's manifest.json collected_at."""
        log = {
            "source": self.source,
            "collected_at": iso(self.started),
            "finished_at": iso(datetime.now(UTC)),
            "scopes": sorted(set(self.scopes)),
            "counts": dict(sorted(self.counts.items())),
            "problems": [p.to_dict() for p in self.problems],
        }
        self.write(LOG_NAME, log)
        manifest_path = Path(self.out_root) / MANIFEST_NAME
        manifest: dict[str, Any] = {}
        if manifest_path.is_file():
            try:
                manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                manifest = {}
        manifest.setdefault("sources", {})[self.source] = log["collected_at"]
        manifest["collected_at"] = min(manifest["sources"].values())
        manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return log

    @contextmanager
    def progress(self) -> Iterator[Progress]:
        """A progress bar on stderr (disabled with --quiet or when stderr is not a terminal)."""
        bar = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=Console(stderr=True), disable=self.quiet, transient=False,
        )
        with bar:
            yield bar

    def track(self, items: Iterable[Any], description: str, bar: Progress, total: int | None = None):
        task = bar.add_task(description, total=total if total is not None else _len(items))
        for item in items:
            yield item
            bar.advance(task)


def _len(items: Iterable[Any]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to an export file")


def apply_collection_log(folder: Path, result: CollectResult) -> None:
    """Carry a live run's denied / failed calls into the offline result's coverage.

    Every offline collector calls this, so a scan of live exports says what was not readable.
    An unreadable or malformed log is an error (the source is partial), never a crash.
    """
    path = Path(folder) / LOG_NAME
    if file_problem(path) == MISSING:
        return
    try:
        log = read_json(path, result.source)
    except SourceFileError as exc:
        result.fail(exc.error)
        return
    if not isinstance(log, dict):
        result.fail(RecordError(result.source, str(path), "", "", f"expected the collection log's JSON object "
                                f"(problems, errors); got {json_type(log)}", "re-run the live collector"))
        return
    problems = log.get("problems") if isinstance(log.get("problems"), list) else []
    for problem in problems:
        if not isinstance(problem, dict):
            result.fail(RecordError(result.source, str(path), "", "problems", f"expected an object, got "
                                    f"{json_type(problem)}", "re-run the live collector"))
            continue
        result.coverage.notes.append(
            f"live collection {problem.get('kind', 'denied')}: {problem.get('call')} on "
            f"{problem.get('scope')}: {problem.get('error')}"
        )
    if problems:
        result.coverage.degrade()
    if path.name not in result.coverage.files:
        result.coverage.files.append(path.name)
    for error in log.get("errors") if isinstance(log.get("errors"), list) else []:
        result.fail(RecordError(result.source, str(path), "", "", str(error), "see the collector's docs"))
    if log.get("scopes") == [] and problems:
        # The live run reached no account, tenant, project or cluster: say why, not just "nothing here".
        result.fail(RecordError(result.source, str(path), "", "", f"the live collection failed and collected "
                                f"nothing: {failure_reason(problems)}",
                                f"re-run `crosspath collect {result.source}` once that is fixed"))


def failure_reason(problems: list[dict[str, Any]]) -> str:
    """Why a live run collected nothing, in words: 'no AWS credentials found: ...' or the first failed calls."""
    if any("NoCredentialsError" in str(p.get("error", "")) for p in problems if isinstance(p, dict)):
        return NO_AWS_CREDENTIALS
    shown = [f"{p.get('call')}: {p.get('error')}" for p in problems[:3] if isinstance(p, dict)]
    more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
    return "; ".join(shown) + more


NO_AWS_CREDENTIALS = ("no AWS credentials found: set AWS_PROFILE (or pass --profile), export AWS_ACCESS_KEY_ID "
                      "and AWS_SECRET_ACCESS_KEY, or run `aws sso login` (botocore: NoCredentialsError: Unable "
                      "to locate credentials)")
