"""The main job, step by step: collect every source under a folder, build, snapshot, analyse.

Each step is a function so the CLI, scheduled jobs, tests and benchmarks share one path.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collectors import SOURCES, offline_collector, technique_catalogue
from collectors.base import SourceFileError, read_json
from crosspath import __version__
from crosspath.evidence import remove_evidence, write_evidence
from graph.builder import BuildResult, build_graph
from graph.coverage import CollectResult, Coverage, CoverageStatus
from graph.identities import load_identities
from graph.records import RecordError
from graph.snapshot import (
    SnapshotError,
    gc_paused,
    is_arrow,
    read_metadata,
    read_snapshot,
    read_tables,
    reading_tables,
    write_snapshot,
)
from graph.times import iso, parse_time
from queries.analysis import analyze
from queries.coverage_gate import SEEN
from queries.exceptions import load_exceptions
from queries.findings import CARRIED, CARRIED_IN, FIXES, Analysis
from queries.fixes import DEFAULT_TOP as DEFAULT_TOP_FIXES
from queries.paths import PathEngine
from queries.policy import load_policy
from queries.reports import REPORT_FORMATS, WRITERS, write_reports

SNAPSHOT_SUFFIX = ".arrow"  # snapshot format version 2 (docs/snapshot.md)
SNAPSHOT_NAME = f"snapshot{SNAPSHOT_SUFFIX}"
# What Crosspath wrote before version 2 (JSON, gzip): an OUT folder scanned by it is still read.
LEGACY_SUFFIX = ".json.gz"
LEGACY_SNAPSHOT_NAME = f"snapshot{LEGACY_SUFFIX}"
HISTORY_SUFFIXES = (SNAPSHOT_SUFFIX, LEGACY_SUFFIX)
DEFAULT_OUT = Path("crosspath-out")  # every command's --out default
DEFAULT_SNAPSHOT = DEFAULT_OUT / SNAPSHOT_NAME
HISTORY_DIR = "history"
MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".crosspath.lock"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def read_manifest(folder: Path) -> dict[str, Any]:
    """`manifest.json` beside the source folders says when the exports were taken (optional)."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        manifest = read_json(path, "manifest")
    except SourceFileError:
        return {}
    return manifest if isinstance(manifest, dict) else {}


def resolve_as_of(as_of: str | None, manifest: dict[str, Any]) -> datetime:
    """Key ages are measured at collection time: --as-of, else the manifest's collected_at, else now."""
    for candidate in (as_of, manifest.get("collected_at")):
        parsed = parse_time(candidate)
        if parsed is not None:
            return parsed
    return datetime.now(UTC).replace(microsecond=0)


def collect_folder(folder: Path, progress: Progress = _quiet) -> list[CollectResult]:
    """Run every offline collector whose sub-folder exists; a missing one is recorded as not covered,
    a crashing one as failed, and neither stops the others."""
    results = []
    for source in SOURCES:
        sub = folder / source
        if not sub.is_dir():
            coverage = Coverage(source, status=CoverageStatus.MISSING, notes=[f"not covered: no {source}/ folder in {folder}"])
            results.append(CollectResult(source, coverage=coverage))
            progress(f"{source}: not covered (no {source}/ folder)")
            continue
        progress(f"{source}: collecting {sub}")
        try:
            result = offline_collector(source)(sub)
        except SourceFileError as exc:
            result = CollectResult(source, coverage=Coverage(source, status=CoverageStatus.FAILED))
            result.errors.append(exc.error)
        except Exception as exc:  # noqa: BLE001 - one broken source must not lose the others
            result = CollectResult(source, coverage=Coverage(source, status=CoverageStatus.FAILED))
            result.errors.append(
                RecordError(source, str(sub), "", "", f"collector failed: {type(exc).__name__}: {exc}",
                            "report this with the export files' shapes (not their contents)")
            )
        progress(f"{source}: {len(result.nodes)} nodes, {len(result.edges)} edges, {len(result.errors)} errors")
        results.append(result)
    return results


@dataclass(frozen=True)
class RecordedConfig:
    """A policy or exceptions file a snapshot's scan used, as it is now (snapshot metadata `scan_config`)."""

    path: Path
    sha256: str | None  # as recorded by the scan
    state: str  # "same" | "changed" (edited since the scan) | "gone"


def file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def recorded_config(metadata: dict[str, Any], name: str) -> RecordedConfig | None:
    """The `name` ("policy" or "exceptions") file the scan used, and whether it is gone or has changed
    since; None when the scan used none. The dashboard and `crosspath exceptions review` read it."""
    recorded = metadata.get("scan_config") if isinstance(metadata.get("scan_config"), dict) else {}
    record = recorded.get(name) if isinstance(recorded.get(name), dict) else None
    if record is None or not record.get("path"):
        return None
    path = Path(record["path"])
    current = file_hash(path) if path.is_file() else None
    state = "gone" if current is None else "changed" if record.get("sha256") and current != record["sha256"] else "same"
    return RecordedConfig(path, record.get("sha256"), state)


def record_fixes(metadata: dict[str, Any], fixes: list[dict[str, Any]], top: int) -> None:
    """Keep the scan's verified top fixes in the snapshot (`top_fixes`), for readers that would compute
    the same ones again (recorded_fixes)."""
    if top:
        metadata[FIXES] = {"top": top, "fixes": fixes}


def recorded_fixes(metadata: dict[str, Any], policy_path: Path | None, exceptions_path: Path | None,
                   top: int) -> list[dict[str, Any]] | None:
    """The scan's top `top` fixes when computing them again would give the same answer: the same snapshot
    judged by this Crosspath version under the same policy and exceptions (the files the scan hashed,
    unchanged) and at least as many picks asked of the scan (greedy picks: its first `top` are the top
    `top`). None: compute them."""
    recorded = metadata.get(FIXES)
    if (not isinstance(recorded, dict) or not isinstance(recorded.get("fixes"), list)
            or not all(map(_well_formed_fix, recorded["fixes"]))
            or metadata.get("tool_version") != __version__ or not isinstance(recorded.get("top"), int)
            or recorded["top"] < top or metadata.get("scan_config") != scan_config(policy_path, exceptions_path)):
        return None
    return recorded["fixes"][:top]


_FIX_FIELDS = {"rank": int, "kind": str, "description": str, "edges": list, "nodes": list, "closes": int,
               "closed": list, "remaining_open": int, "unverified_candidates": int}  # queries/fixes.py find_fixes


def _well_formed_fix(fix: Any) -> bool:
    """A recorded fix with every field the reports read, of its type (a damaged one is verified again)."""
    return isinstance(fix, dict) and all(isinstance(fix.get(name), kind) for name, kind in _FIX_FIELDS.items())


def config_record(path: Path | None) -> dict[str, str] | None:
    """The policy or exceptions file a scan used, for the dashboard to read by default: its absolute
    path and a content hash (so a later edit can be noticed); None when the scan used none."""
    if path is None:
        return None
    resolved = path.expanduser().resolve()
    return {"path": str(resolved), "sha256": hashlib.sha256(resolved.read_bytes()).hexdigest()}


def scan_config(policy_path: Path | None, exceptions_path: Path | None) -> dict[str, dict[str, str] | None]:
    """The policy and exceptions files an analysis used (snapshot metadata `scan_config`, evidence.json)."""
    return {"policy": config_record(policy_path), "exceptions": config_record(exceptions_path)}


def snapshot_metadata(build: BuildResult, collected_at: datetime, source_dir: str,
                      policy_path: Path | None = None, exceptions_path: Path | None = None,
                      config: dict[str, dict[str, str] | None] | None = None) -> dict[str, Any]:
    """`config`: the scan_config hashed when the files were read (else they are hashed now)."""
    return {
        "collected_at": iso(collected_at),
        "created_at": iso(datetime.now(UTC)),
        "tool_version": __version__,
        "source_dir": source_dir,
        "coverage": {name: coverage.to_dict() for name, coverage in sorted(build.coverage.items())},
        "errors": [error.to_dict() for error in build.errors],
        "scan_config": config if config is not None else scan_config(policy_path, exceptions_path),
    }


class ScanError(Exception):
    """A scan that must not go on (nothing collected, another scan writing the same OUT); says why."""


class NothingCollected(ScanError):
    pass


def latest_snapshot(out_dir: Path) -> Path:
    """The OUT folder's latest snapshot: `snapshot.arrow`, or `snapshot.json.gz` in a folder last scanned by
    a Crosspath before snapshot version 2; `snapshot.arrow` (not there) when neither exists."""
    latest = out_dir / SNAPSHOT_NAME
    legacy = out_dir / LEGACY_SNAPSHOT_NAME
    return legacy if not latest.is_file() and legacy.is_file() else latest


def default_snapshot() -> Path:
    """The --snapshot default: the latest snapshot in ./crosspath-out (latest_snapshot)."""
    return latest_snapshot(DEFAULT_OUT)


def history_snapshots(out_dir: Path) -> list[Path]:
    """Every snapshot in the OUT folder's history, newest first (version 2 `.arrow` and earlier `.json.gz`
    alike: both are named `snapshot-<created_at>`)."""
    folder = out_dir / HISTORY_DIR
    found = [path for path in folder.glob("snapshot-*") if path.name.endswith(HISTORY_SUFFIXES)]
    return sorted(found, key=lambda path: path.name, reverse=True)


def snapshot_id(path: Path) -> str:
    """A history file's name without its suffix (`snapshot-20261101T120000Z`)."""
    for suffix in HISTORY_SUFFIXES:
        if path.name.endswith(suffix):
            return path.name.removesuffix(suffix)
    return path.stem


def _history_file(out_dir: Path, created_at: str) -> Path:
    """A history file name no other scan has taken, reserved by creating it exclusively (two scans in
    the same second get `_2`, `_3` ..., which sort after the first, as the dashboard orders history)."""
    folder = out_dir / HISTORY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = created_at.replace(":", "").replace("-", "")
    for number in range(1, 10_000):
        name = f"snapshot-{stamp}" if number == 1 else f"snapshot-{stamp}_{number}"
        path = folder / f"{name}{SNAPSHOT_SUFFIX}"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return path
        except FileExistsError:
            continue
    raise ScanError(f"{folder}: no free history file name for {stamp}")


@contextmanager
def out_lock(out_dir: Path) -> Iterator[None]:
    """One writer per OUT folder at a time; a second scan fails clearly instead of interleaving files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScanError(f"another crosspath scan is writing into {out_dir}; wait for it to finish or "
                            "use another --out") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_reports(out_dir: Path) -> None:
    """Before the snapshot is switched: a scan stopped between the switch and the new reports then leaves
    no report of the older snapshot beside the newer one."""
    for file_name, _ in WRITERS.values():
        (out_dir / file_name).unlink(missing_ok=True)
    remove_evidence(out_dir)


def save_snapshot(build: BuildResult, metadata: dict[str, Any], out_dir: Path) -> Path:
    """Write the snapshot into history, then point `snapshot.arrow` at it; both steps are atomic,
    and earlier snapshots are never touched. The history file's name is the snapshot's id, recorded in
    its metadata (`snapshot_id`) and so in every report made from it. A `snapshot.json.gz` left by a
    Crosspath before version 2 is removed once it is also in the history (a second name of a history file):
    it would be an older latest beside the new one."""
    history_path = _history_file(out_dir, metadata["created_at"])
    metadata["snapshot_id"] = snapshot_id(history_path)
    history = write_snapshot(history_path, build.graph, metadata)
    remove_reports(out_dir)
    latest = out_dir / SNAPSHOT_NAME
    temp = out_dir / f".{SNAPSHOT_NAME}.link"
    temp.unlink(missing_ok=True)
    try:
        os.link(history, temp)
        os.replace(temp, latest)
    except OSError:
        write_snapshot(latest, build.graph, metadata)
    legacy = out_dir / LEGACY_SNAPSHOT_NAME
    try:
        if legacy.stat().st_nlink > 1:
            legacy.unlink()
    except OSError:
        pass
    return latest


@dataclass
class ScanResult:
    analysis: Analysis
    snapshot: Path
    build: BuildResult
    outputs: dict[str, Path]  # report format (and "evidence", "snapshot") -> file written
    duration_seconds: float = 0.0  # from loading the policy to the last file written


def previous_metadata(out_dir: Path, progress: Progress = _quiet) -> dict[str, Any] | None:
    """The metadata of the last snapshot in out_dir (None for a first scan). An unreadable
    latest snapshot is never taken for a first scan: the newest readable history snapshot stands in for
    it, said in a warning; with none readable the scan stops (its exception approvals, lifecycle and
    coverage gate would otherwise start again silently). A folder scanned before snapshot version 2
    (`snapshot.json.gz`, `history/*.json.gz`) is read the same way."""
    latest = latest_snapshot(out_dir)
    history = history_snapshots(out_dir)
    if not latest.is_file() and not history:
        return None
    problems = []
    for path in ([latest] if latest.is_file() else []) + history:
        try:
            metadata = read_metadata(path)
        except SnapshotError as exc:
            problems.append(str(exc))
            continue
        if problems:
            progress(f"warning: {problems[0]}; comparing with {path} instead")
        return metadata
    raise ScanError(f"no snapshot in {out_dir} can be read ({problems[0]}): the previous scan's exception "
                    "approvals, first-seen dates and coverage cannot be carried on. Move the folder aside to start "
                    "afresh, or restore a snapshot from a backup")


def carried_from(out_dir: Path, progress: Progress = _quiet) -> dict[str, Any]:
    """What the last snapshot in out_dir carries on to the next scan (approved exception fingerprints,
    lifecycle); empty for a first scan."""
    carried = (previous_metadata(out_dir, progress) or {}).get(CARRIED)
    return carried if isinstance(carried, dict) else {}


def record_carried(metadata: dict[str, Any], incoming: dict[str, Any], analysis: Analysis) -> None:
    """What this scan carries on (`carried`) and what it was judged against (`carried_in`): a later
    `crosspath report`, the dashboard or `exceptions review` re-analyse the snapshot against the latter,
    so new, reopened, outgrown and since_previous read as the scan reported them."""
    metadata[CARRIED] = analysis.carried
    metadata[CARRIED_IN] = incoming


def write_outputs(analysis: Analysis, out_dir: Path, formats: tuple[str, ...], snapshot: Path,
                  config: dict[str, dict[str, str] | None]) -> dict[str, Path]:
    """The reports, then evidence.json naming the snapshot, the config files and every report's hash
    (crosspath/evidence.py); `crosspath scan` and `crosspath report` both write through here."""
    remove_reports(out_dir)  # a format not written now must not stay beside the new ones, unverified
    outputs = write_reports(analysis, out_dir, formats)
    return {**outputs, "evidence": write_evidence(analysis, out_dir, outputs, snapshot, config)}


def run_analysis(
    graph_and_metadata: tuple[Any, dict[str, Any]],
    policy_path: Path | None,
    exceptions_path: Path | None,
    as_of: datetime | None = None,
    top_fixes: int = 0,
    tables: tuple[Any, Any] | None = None,
) -> Analysis:
    """`tables`: a version 2 snapshot's (nodes, edges) tables (graph.snapshot.read_tables), analysed on the
    path engine compiled from them, with no graph (None): then top fixes only as the scan recorded them."""
    graph, metadata = graph_and_metadata
    when = as_of or parse_time(metadata.get("collected_at")) or datetime.now(UTC)
    recorded = recorded_fixes(metadata, policy_path, exceptions_path, top_fixes) if top_fixes and not as_of else None
    if graph is None and top_fixes and recorded is None:
        raise ValueError("verifying top fixes changes a copy of the graph: pass the graph, not only its tables")
    policy = load_policy(policy_path)
    engine = PathEngine.from_tables(*tables, policy) if tables is not None else None
    analysis = analyze(graph, metadata, policy, load_exceptions(exceptions_path), when, engine=engine,
                       techniques=technique_catalogue(), top_fixes=0 if recorded is not None else top_fixes)
    if recorded is not None:  # what the scan verified, under the same files: not verified again
        analysis.top_fixes = recorded
    return analysis


def analyse_snapshot(path: Path, policy_path: Path | None, exceptions_path: Path | None,
                     top_fixes: int = 0) -> Analysis:
    """run_analysis on a snapshot file: a version 2 file on its memory-mapped tables, with no networkx
    graph, unless top fixes must be verified anew (that changes a copy of the graph); else on its graph."""
    with gc_paused():  # as a scan analyses: millions of acyclic objects, which the collector would walk
        if is_arrow(path):
            nodes, edges, metadata = read_tables(path)
            if not top_fixes or recorded_fixes(metadata, policy_path, exceptions_path, top_fixes) is not None:
                with reading_tables(path):
                    return run_analysis((None, metadata), policy_path, exceptions_path, top_fixes=top_fixes,
                                        tables=(nodes, edges))
        return run_analysis(read_snapshot(path), policy_path, exceptions_path, top_fixes=top_fixes)


def scan(
    folder: Path,
    out_dir: Path,
    policy_path: Path | None = None,
    exceptions_path: Path | None = None,
    as_of: str | None = None,
    progress: Progress = _quiet,
    formats: tuple[str, ...] = REPORT_FORMATS,
    identities_path: Path | None = None,
    top_fixes: int = DEFAULT_TOP_FIXES,
) -> ScanResult:
    started = time.monotonic()
    # Load policy, exceptions and identities first: a typo there should fail before minutes of collection.
    # Their hashes are taken as they are read, not minutes later: an edit during the scan (the dashboard
    # adding an exception) must not be recorded as what this analysis used (recorded_fixes trusts it).
    config = scan_config(policy_path, exceptions_path)
    policy = load_policy(policy_path)
    exceptions = load_exceptions(exceptions_path)
    if scan_config(policy_path, exceptions_path) != config:
        raise ScanError("the policy or exceptions file changed while it was being read; run the scan again")
    identities = load_identities(identities_path)
    when = resolve_as_of(as_of, read_manifest(folder))
    results = collect_folder(folder, progress)
    if not any(result.coverage.status in SEEN for result in results):
        failed = "".join(f"\n  {result.source}: collection failed: {result.errors[0].message}"
                         for result in results if result.errors)
        raise NothingCollected(f"nothing was collected from {folder}: every source is missing or failed "
                               f"(expected one of {', '.join(f'{s}/' for s in SOURCES)}); the last snapshot "
                               f"in {out_dir} is kept{failed}")
    progress("building the graph")
    try:
        # Millions of acyclic dicts: the cycle collector would rescan all of them on every burst (at 100k
        # identities, build + analyse take 13.8 s with it paused against 20.6 s with it running), and
        # again after the build (keep: they live until the scan ends).
        with gc_paused(keep=True):
            build = build_graph(results, when, identities, take_records=True)
        del results  # the records are the graph's now: their memory serves the analysis and the snapshot
        metadata = snapshot_metadata(build, when, str(folder), config=config)
        with out_lock(out_dir):
            progress("finding privileged write paths")
            incoming = carried_from(out_dir, progress)
            with gc_paused():  # not kept: the collector frees the fix search's working copy of the graph
                analysis = analyze(build.graph, metadata, policy, exceptions, when, techniques=technique_catalogue(),
                                   carried=incoming, top_fixes=top_fixes)
            record_carried(metadata, incoming, analysis)
            record_fixes(metadata, analysis.top_fixes, top_fixes)
            progress(f"writing snapshot ({build.graph.number_of_nodes()} nodes, {analysis.stats['edges']} edges)")
            snapshot = save_snapshot(build, metadata, out_dir)
            progress(f"writing reports into {out_dir}")
            outputs = {**write_outputs(analysis, out_dir, formats, snapshot, metadata["scan_config"]),
                       "snapshot": snapshot}
    finally:
        gc.unfreeze()  # the graph is the caller's now (and anything the caller froze is unfrozen too)
    return ScanResult(analysis, snapshot, build, outputs, time.monotonic() - started)
