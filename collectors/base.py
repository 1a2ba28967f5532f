"""What every collector shares: file reading with clear errors, the per-item "use it or report it and
go on" loop (``checked``), the machine-identity heuristic.

A collector module exposes ``collect_offline(folder: Path) -> CollectResult`` (``graph.coverage``).
It reads the source's native export files (get), turns them into records with
pure ``transform_*`` functions, and never talks to a graph store. Timestamps: ``graph.times``.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
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


# --- reading one export file --------------------------------------------------------------------

MISSING = "missing"  # file_problem(): nothing at that path
REEXPORT = "re-export the file with the documented command"


def file_problem(path: Path) -> str | None:
    """Why `path` cannot be read as an export file: None for a regular file (symbolic links followed),
    MISSING when nothing is there, else what it is ("a FIFO (named pipe)", "a symbolic link loop", ...).

    Never opens the file: opening a FIFO would wait forever for a writer."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a dangling symbolic link" if os.path.lexists(path) else MISSING
    except NotADirectoryError:
        return MISSING
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        return f"cannot be examined: {exc.strerror or exc}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a regular file"
    return "not a regular file"


def read_bytes(path: Path, source: str) -> bytes:
    """A regular file's bytes, or SourceFileError naming the file and why it was not read."""
    problem = file_problem(path)
    if problem is not None:
        message = "file not found" if problem == MISSING else f"not read: {problem}"
        raise SourceFileError(RecordError(source, str(path), "", "", message,
                                          "replace it with the regular file the documented command writes"))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceFileError(
            RecordError(source, str(path), "", "", f"cannot read file: {exc.strerror or exc}",
                        "check the path and that the file is readable by the user running Crosspath")
        ) from exc


def decode_text(raw: bytes, path: Path, source: str) -> str:
    """UTF-8 text (a byte-order mark is allowed), or SourceFileError naming the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        raise SourceFileError(RecordError(
            source, str(path), "", "",
            ("the file is UTF-16, not UTF-8" if utf16 else
             f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} cannot be decoded"),
            "save the file as UTF-8 (PowerShell: Out-File -Encoding utf8) or re-export it with the "
            "documented command")) from None


def read_json(path: Path, source: str) -> Any:
    """Load a JSON file, or raise SourceFileError naming the file, line and fix."""
    text = decode_text(read_bytes(path, source), path, source)
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
    except RecursionError:
        raise SourceFileError(RecordError(
            source, str(path), "", "", "JSON nested too deeply to read (hundreds of levels; no export is)",
            REEXPORT)) from None


def read_csv(path: Path, source: str) -> list[dict[str, str]]:
    text = decode_text(read_bytes(path, source), path, source)
    try:
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
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


def json_type(value: Any) -> str:
    """What a JSON value is, for error messages: "a string", "an object", "a list", "null" ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true / false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_TYPE_NAMES = {str: "a string", list: "a list", dict: "an object", bool: "true / false", int: "a number",
               float: "a number"}

# A shape: a type or tuple of types; {field: shape} for an object whose fields have those shapes; [shape]
# for a list whose every item has that shape. Absent or null fields always pass (required fields are
# checked with `require`).
Shape = Any


def _type_problem(value: Any, shape: Shape) -> str | None:
    if isinstance(shape, dict):
        return None if isinstance(value, dict) else "an object"
    if isinstance(shape, list):
        return None if isinstance(value, list) else "a list"
    kinds = shape if isinstance(shape, tuple) else (shape,)
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return None
    return " or ".join(dict.fromkeys(_TYPE_NAMES.get(kind, kind.__name__) for kind in kinds))


def shape_problem(value: Any, shape: Shape, where: str = "") -> tuple[str, str] | None:
    """(field path, message) of the first value that does not have `shape`, or None. Walked without
    recursion; `where` prefixes the field path."""
    stack: list[tuple[Any, Shape, str]] = [(value, shape, where)]
    while stack:
        item, expected, path = stack.pop()
        wanted = _type_problem(item, expected)
        if wanted is not None:
            return path, f"expected {wanted}, got {json_type(item)}"
        if isinstance(expected, dict):
            for key, inner in reversed(list(expected.items())):
                if item.get(key) is not None:
                    stack.append((item[key], inner, f"{path}.{key}" if path else key))
        elif isinstance(expected, list):
            stack.extend((entry, expected[0], f"{path}[{index}]")
                         for index, entry in reversed(list(enumerate(item))))
    return None


def expect_fields(obj: Any, fields: dict[str, Shape], source: str, file: str, record: str,
                  fix: str = REEXPORT) -> None:
    """Raise SourceFileError naming the first field (path) whose JSON type is not what `fields` says.
    Use it before a transform reads the fields, so a wrong type is one rejected record with its field,
    never a crash."""
    problem = shape_problem(obj, fields)
    if problem is not None:
        raise SourceFileError(RecordError(source, file, record, problem[0], problem[1], fix))


def wrong_top_level(path: Path, source: str, expected: str, value: Any, fix: str = REEXPORT,
                    got: str | None = None) -> SourceFileError:
    """The error for a file whose JSON is not the shape its name promises."""
    return SourceFileError(RecordError(source, str(path), "", "",
                                       f"expected {expected}; got {got or json_type(value)}", fix))


# --- unexpected shapes: the last line of defence --------------------------------------------------

# What a transform raises when an export holds a type it did not expect somewhere no check looked.
UNEXPECTED = (TypeError, AttributeError, KeyError, ValueError, IndexError, RecursionError, OverflowError)
UNEXPECTED_FIX = ("re-export it with the documented command; if the file is that command's unedited output, "
                  "report the shape of the named record (not its values)")


def unexpected(source: str, file: str, record: str, exc: BaseException) -> RecordError:
    """A RecordError for an unexpected value a transform tripped over (see UNEXPECTED)."""
    detail = "nested too deeply" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
    return RecordError(source, file, record, "", f"unexpected value in the export ({detail[:200]}); skipped",
                       UNEXPECTED_FIX)


def guard(source: str, where: Callable[[T], str], check: Callable[[T], R],
          record: Callable[[T], str] = lambda _: "") -> Callable[[T], R]:
    """`check` for `checked`, with an unexpected value (UNEXPECTED) turned into a SourceFileError naming
    the item's file (and record): that item is skipped and reported, the next one is tried."""
    def run(item: T) -> R:
        try:
            return check(item)
        except UNEXPECTED as exc:
            raise SourceFileError(unexpected(source, where(item), record(item), exc)) from exc
    return run


# --- finding the files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NotRead:
    """A file or folder a source found and could not read."""

    path: Path
    reason: str

    def note(self) -> str:
        return f"not read: {self.path}: {self.reason}"


@dataclass
class Listing:
    """What one walk of a source folder found: the regular export files to read, the candidates that
    are not readable (FIFOs, symbolic-link loops, unreadable folders ...) and the folders holding no
    export file at all. `account_for` turns the last two into coverage notes."""

    root: Path
    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)  # every folder read, root first
    not_read: list[NotRead] = field(default_factory=list)
    empty: list[Path] = field(default_factory=list)

    _index: dict[tuple[str, Path], list[Path]] | None = field(default=None, repr=False, compare=False)

    def _children(self, kind: str, folder: Path) -> list[Path]:
        if self._index is None:  # built once: sources ask per folder, and there may be thousands
            self._index = {}
            for key, paths in (("folders", self.folders), ("files", self.files)):
                for path in sorted(paths):
                    self._index.setdefault((key, path.parent), []).append(path)
        return list(self._index.get((kind, folder), []))

    def subfolders(self, folder: Path) -> list[Path]:
        return self._children("folders", folder)

    def files_in(self, folder: Path) -> list[Path]:
        return self._children("files", folder)


def list_exports(folder: Path, suffixes: tuple[str, ...] = (".json",),
                 skip: Callable[[Path], bool] = lambda _: False) -> Listing:
    """Every file under `folder` whose name ends in one of `suffixes` (case-insensitive), walked
    without recursion; folders behind symbolic links are followed once. The one rule for "found but
    not read": a candidate that is not a regular file, a folder that cannot be listed and a folder
    holding no candidate at all each land in the listing (see Listing), never silently nowhere."""
    folder = Path(folder)
    listing = Listing(folder)
    found: dict[Path, int] = {}
    seen_real: set[str] = set()
    stack = [folder]
    while stack:
        current = stack.pop()
        real = os.path.realpath(current)
        if real in seen_real:
            listing.not_read.append(NotRead(current, "a symbolic link to a folder read already (a loop); "
                                                     "not read twice"))
            continue
        seen_real.add(real)
        try:
            with os.scandir(current) as it:
                entries = sorted(it, key=lambda entry: entry.name)
        except OSError as exc:
            listing.not_read.append(NotRead(current, f"folder cannot be listed: {exc.strerror or exc}"))
            continue
        listing.folders.append(current)
        found.setdefault(current, 0)
        subfolders = []
        for entry in entries:
            path = current / entry.name
            if skip(path):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append(path)
                continue
            if not entry.name.lower().endswith(suffixes):
                continue
            for parent in (path.parent, *path.parent.parents):
                if parent in found:
                    found[parent] += 1
                if parent == folder:
                    break
            problem = file_problem(path)
            if problem is None:
                listing.files.append(path)
            elif problem != MISSING:
                listing.not_read.append(NotRead(path, problem))
        stack.extend(reversed(subfolders))
    listing.empty = sorted(path for path, count in found.items() if count == 0 and path != folder)
    listing.files.sort()
    return listing


def account_for(result: Any, listing: Listing, what: str = "export files") -> None:
    """Coverage notes for what a listing found and could not read; each marks the source partial.
    A folder inside an empty folder is not noted again."""
    for item in listing.not_read:
        result.coverage.notes.append(item.note())
        result.coverage.degrade()
    empty = set(listing.empty)
    for path in listing.empty:
        if path.parent in empty:
            continue
        result.coverage.notes.append(f"empty folder: {path} holds no {what}; nothing read from it")
        result.coverage.degrade()


def json_files(folder: Path) -> Listing:
    """Every `*.json` under folder (see list_exports)."""
    return list_exports(folder, (".json",))


# --- duplicates ----------------------------------------------------------------------------------

DUPLICATE_FIX = "keep one entry per id (re-export the file with the documented command)"
GRANTING = (True, "Y", "y")


def merge_entry(first: dict[str, Any], second: dict[str, Any],
                grants: Callable[[str], bool] = lambda _: False) -> list[str]:
    """Merge a duplicate native entry into the first copy, in place; return the fields whose values
    conflict. The rule, the same as the graph builder's for nodes: the first copy's values win, the
    second fills what the first lacks (absent, null, "", [], {}), lists are united (the first's items,
    then the second's new ones: no policy, rule, member or grant is dropped) and objects merge key by
    key by the same rule. A field `grants` names is a grant flag (rolsuper, Super_priv): there the
    granting value (true, "Y") wins, so a grant in either copy counts."""
    conflicts: list[str] = []
    stack: list[tuple[dict[str, Any], dict[str, Any], str]] = [(first, second, "")]
    while stack:
        into, other, prefix = stack.pop()
        for key, value in other.items():
            current = into.get(key)
            name = f"{prefix}{key}"
            if current in (None, "", [], {}):
                if value not in (None, "", [], {}):
                    into[key] = value
            elif isinstance(current, list) and isinstance(value, list):
                into[key] = current + [item for item in value if item not in current]
            elif isinstance(current, dict) and isinstance(value, dict):
                stack.append((current, value, f"{name}."))
            elif current != value:
                if grants(name) and value in GRANTING and current not in GRANTING:
                    into[key] = value
                conflicts.append(name)
    return sorted(conflicts)


def merge_duplicates(items: Iterable[T], key: Callable[[T], Any], where: Callable[[T], tuple[str, str]],
                     data: Callable[[T], dict[str, Any]], source: str, what: str,
                     report: Callable[[RecordError], object], id_field: str = "",
                     can_merge: Callable[[T, T], bool] = lambda _a, _b: True,
                     grants: Callable[[str], bool] = lambda _: False) -> list[T]:
    """The items with each duplicate (same `key` within one source) merged into its first copy
    (merge_entry) and reported: an error naming the file, both positions and the fix. Items whose key
    is None have no id and are kept as they are. When `can_merge` says no (e.g. two Kubernetes bindings
    of one name naming different roles), both copies are kept, so both grants still count."""
    firsts: dict[Any, T] = {}
    kept: list[T] = []
    for item in items:
        ident = key(item)
        if ident is None:
            kept.append(item)
            continue
        first = firsts.get(ident)
        if first is None:
            firsts[ident] = item
            kept.append(item)
            continue
        (first_file, first_at), (file, at) = where(first), where(item)
        first_place = first_at if first_file == file else f"{first_file} {first_at}"
        if can_merge(first, item):
            conflicts = merge_entry(data(first), data(item), grants)
            outcome = ("merged into the first copy (its values win, the second fills gaps, lists are "
                       "united)")
            if conflicts:
                outcome += ("; conflicting values kept from the first copy (grant flags: the granting "
                            "value): " + ", ".join(conflicts[:5]))
                outcome += f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
        else:
            kept.append(item)
            outcome = "both copies kept (they cannot be merged without dropping a grant)"
        label = "/".join(str(part) for part in ident) if isinstance(ident, tuple) else str(ident)
        report(RecordError(source, file, f"{what} {label} at {at}", id_field,
                           f"duplicate of the entry at {first_place}; {outcome}", DUPLICATE_FIX))
    return kept


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
