"""Snapshot files the dashboard can show: the scan output folder's history, plus uploads."""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from crosspath.pipeline import HISTORY_DIR, SNAPSHOT_NAME
from graph.snapshot import SnapshotError, read_snapshot

_SUFFIXES = (".json", ".json.gz")
log = logging.getLogger(__name__)
_STAMP = re.compile(r"snapshot-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")


@dataclass(frozen=True)
class SnapshotFile:
    path: Path
    label: str

    @property
    def key(self) -> tuple[str, float, int]:
        """Changes whenever the file does, so caches keyed on it never serve a stale snapshot."""
        stat = self.path.stat()
        return str(self.path.resolve()), stat.st_mtime, stat.st_size


def _when(path: Path) -> str:
    match = _STAMP.search(path.name)
    if not match:
        return path.name
    y, mo, d, h, mi, s = match.groups()
    return f"{y}-{mo}-{d} {h}:{mi}:{s}Z"


def _snapshot_files(folder: Path, pattern: str) -> list[Path]:
    """Snapshot files only: graph stores keep their own files beside them (`<snapshot>.lbug/`)."""
    return [p for p in folder.glob(pattern) if p.name.endswith(_SUFFIXES) and p.is_file()]


def discover(folder: Path) -> list[SnapshotFile]:
    """Newest first: every history snapshot, then `snapshot.json.gz` if it is not one of them."""
    history = sorted(_snapshot_files(folder / HISTORY_DIR, "snapshot-*"), key=lambda p: p.name, reverse=True)
    found = [SnapshotFile(path, _when(path)) for path in history]
    if found:
        found[0] = SnapshotFile(found[0].path, f"{found[0].label} (latest)")
    latest = folder / SNAPSHOT_NAME
    if latest.is_file() and not any(latest.samefile(item.path) for item in found):
        found.insert(0, SnapshotFile(latest, f"{SNAPSHOT_NAME} (latest)"))
    return found


def upload_folder() -> Path:
    """A private folder for one browser session's uploads (other sessions do not see them)."""
    return Path(tempfile.mkdtemp(prefix="crosspath-upload-"))


def discover_uploads(folder: Path | None) -> list[SnapshotFile]:
    if folder is None or not folder.is_dir():
        return []
    files = sorted(_snapshot_files(folder, "*"), key=lambda p: p.stat().st_mtime, reverse=True)
    return [SnapshotFile(path, f"uploaded: {path.name}") for path in files]


def save_upload(folder: Path, name: str, payload: bytes) -> SnapshotFile:
    """Keep an uploaded snapshot once it reads as a snapshot; a bad file raises SnapshotError
    (naming the uploaded file, never a path on the server) and is not kept.

    Reading is bounded like every snapshot read (graph.snapshot): a gzip bomb stops at the expansion
    limit, and a malformed document (no `nodes`, a node without `id`, an edge to a missing node, another
    version, not gzip or JSON) is refused with what is wrong."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name) or "snapshot.json.gz"
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
                            f"({type(exc).__name__}); re-run `crosspath scan` and upload its snapshot.json.gz") from None
    temp.replace(target)
    return SnapshotFile(target, f"uploaded: {safe}")
