"""Snapshot files the dashboard can show: the scan output folder's history, plus uploads."""

from __future__ import annotations

import functools
import gzip
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson

from crosspath.pipeline import history_snapshots, latest_snapshot
from graph.snapshot import SUFFIXES, SnapshotError, is_arrow, read_metadata, read_snapshot

_SUFFIXES = SUFFIXES  # .arrow (version 2, what scans write), .json.gz and .json (version 1)
log = logging.getLogger(__name__)
_STAMP = re.compile(r"snapshot-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_COLLECTED = re.compile(rb'"collected_at"\s*:\s*"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})"')
_HEAD_BYTES = 64 * 1024  # the metadata comes first in a snapshot (graph/snapshot.py): no need to read the graph


@dataclass(frozen=True)
class SnapshotFile:
    path: Path
    label: str
    uploaded: bool = False  # its metadata is the uploader's word: the files it names are not read

    @property
    def key(self) -> tuple[str, float, int]:
        """Changes whenever the file does, so caches keyed on it never serve a stale snapshot."""
        stat = self.path.stat()
        return str(self.path.resolve()), stat.st_mtime, stat.st_size


def _when(path: Path) -> str:
    """The scan time in a history file's name."""
    match = _STAMP.search(path.name)
    if not match:
        return path.name
    y, mo, d, h, mi, s = match.groups()
    return f"{y}-{mo}-{d} {h}:{mi}:{s}Z"


@functools.lru_cache(maxsize=4096)
def _collected_at(path: str, mtime: float, size: int) -> str | None:
    """When the exports were taken (the metadata's `collected_at`), read from the head of the file only
    (a version 2 file's header, a version 1 document's first 64 KiB)."""
    if is_arrow(Path(path)):
        try:
            head = orjson.dumps({"collected_at": read_metadata(Path(path)).get("collected_at")})
        except (SnapshotError, TypeError):
            return None
    else:
        try:
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as handle:
                head = handle.read(_HEAD_BYTES)
        except (OSError, EOFError, gzip.BadGzipFile):
            return None
    match = _COLLECTED.search(head)
    if not match:
        return None
    day, time, zone = (part.decode() for part in match.groups())
    return f"{day} {time}{'Z' if zone in ('Z', '+00:00', '+0000') else zone}"


def collected_label(path: Path) -> str | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return _collected_at(str(path.resolve()), stat.st_mtime, stat.st_size)


def _labelled(paths: list[Path]) -> list[SnapshotFile]:
    """Each labelled by its collection time (what the findings are as of); snapshots of the same
    collection (the same exports scanned twice) add their scan time, so every label is unique."""
    collected = [collected_label(path) or _when(path) for path in paths]
    labels = [f"{when} (scanned {_when(path)})" if collected.count(when) > 1 and _when(path) != path.name
              else when for path, when in zip(paths, collected, strict=True)]
    seen: dict[str, int] = {}
    for index, label in enumerate(labels):  # still the same (two scans in one second): number them
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[index] = f"{label} #{seen[label]}"
    return [SnapshotFile(path, label) for path, label in zip(paths, labels, strict=True)]


def _upload_label(path: Path) -> str:
    when = collected_label(path)
    return f"uploaded: {path.name}" + (f" · collected {when}" if when else "")


def _snapshot_files(folder: Path, pattern: str) -> list[Path]:
    """Snapshot files only: graph stores keep their own files beside them (`<snapshot>.lbug/`)."""
    return [p for p in folder.glob(pattern) if p.name.endswith(_SUFFIXES) and p.is_file()]


def discover(folder: Path) -> list[SnapshotFile]:
    """Newest first (by scan): `snapshot.arrow` (or, from a Crosspath before snapshot version 2,
    `snapshot.json.gz`) if it is not in the history, then every history snapshot, `.arrow` and `.json.gz`;
    each labelled by when its exports were collected."""
    history = [path for path in history_snapshots(folder) if path.is_file()]
    latest = latest_snapshot(folder)
    if latest.is_file() and not any(latest.samefile(path) for path in history):
        history.insert(0, latest)
    found = _labelled(history)
    if found:
        found[0] = SnapshotFile(found[0].path, f"{found[0].label} (latest)")
    return found


def upload_folder() -> Path:
    """A private folder for one browser session's uploads (other sessions do not see them)."""
    return Path(tempfile.mkdtemp(prefix="crosspath-upload-"))


def discover_uploads(folder: Path | None) -> list[SnapshotFile]:
    if folder is None or not folder.is_dir():
        return []
    files = sorted(_snapshot_files(folder, "*"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [SnapshotFile(path, _upload_label(path), uploaded=True) for path in files]


def save_upload(folder: Path, name: str, payload: bytes) -> SnapshotFile:
    """Keep an uploaded snapshot once it reads as a snapshot; a bad file raises SnapshotError
    (naming the uploaded file, never a path on the server) and is not kept.

    Reading is bounded like every snapshot read (graph.snapshot): a gzip bomb stops at the expansion
    limit, and a malformed document (no `nodes`, a node without `id`, an edge to a missing node, another
    version, not gzip or JSON) is refused with what is wrong."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name) or "snapshot.arrow"
    target = folder / safe
    temp = folder / f".{safe}.part"
    temp.write_bytes(payload)
    try:
        read_snapshot(temp)
    except Exception as exc:  # whatever it is, the person uploading gets a sentence
        temp.unlink(missing_ok=True)
        if isinstance(exc, SnapshotError):
            message = str(exc).replace(str(temp), f"uploaded file {name!r}")
            raise SnapshotError(message.replace(str(folder), "the upload folder")) from None
        log.exception("uploaded file %r could not be read", name)
        raise SnapshotError(f"uploaded file {name!r}: cannot be read as a Crosspath snapshot "
                            f"({type(exc).__name__}); re-run `crosspath scan` and upload its snapshot.arrow") from None
    temp.replace(target)
    return SnapshotFile(target, _upload_label(target), uploaded=True)
