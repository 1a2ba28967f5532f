"""Property-based tests over every source's readers (docs/reliability.md, "Export files").

Each example copies the five small valid exports (tests/collectors/exports_helpers.py), damages one file
of one source (keys dropped, values of other types, garbage inserted, entries duplicated, the file
truncated, re-encoded, nested thousands deep or replaced whole), runs `collect_folder` and checks:

- no exception escapes the damaged source's collector (collect_folder would record it as
  "collector failed"), so it returns a CollectResult;
- every error names a file, inside the damaged source's folder when it is new;
- a file that is no longer readable JSON / CSV is named by an error;
- the other four sources' results are exactly those of a clean run.

The normal suite runs a bounded, derandomised number of examples; `make fuzz` many more.
"""

from __future__ import annotations

import atexit
import copy
import json
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors import SOURCES
from crosspath.pipeline import collect_folder
from tests.collectors.exports_helpers import FUZZ, export_files, make_all, stable

JSON_LEAF = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
             | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
# Plain values of every JSON type (what a hand edit or another tool's output puts in a field), then
# small random documents.
# small random documents (copied: a drawn value is changed in place by later damage).
JSON_VALUE = (st.sampled_from([None, 0, 1, -1, 1.5, True, False, "", "x", [], {}, ["x"], [1], {"a": 1}])
              | st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=3)
                             | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)
              ).map(copy.deepcopy)
STRUCTURAL = ("drop", "retype", "insert", "duplicate")
WHOLE = ("truncate", "encoding", "deep", "top", "bytes")


@cache
def pristine() -> Path:
    """One clean copy of the five exports for the whole run: examples link to its undamaged sources."""
    folder = Path(tempfile.mkdtemp(prefix="crosspath-fuzz-"))
    atexit.register(shutil.rmtree, folder, True)
    return make_all(folder)


@cache
def clean_run() -> dict[str, str]:
    """Each source's result over the clean exports, in the stable form that compares across folders."""
    return {result.source: stable(result, pristine()) for result in collect_folder(pristine())}


@cache
def files_of(source: str) -> tuple[str, ...]:
    return tuple(str(p.relative_to(pristine() / source)) for p in export_files(pristine() / source))


def damaged_copy(tmp: Path, source: str) -> Path:
    """A folder with a fresh copy of `source` and links to the pristine other sources."""
    for other in SOURCES:
        if other == source:
            shutil.copytree(pristine() / other, tmp / other, symlinks=True)
        else:
            (tmp / other).symlink_to(pristine() / other, target_is_directory=True)
    return tmp


def _paths(document: Any) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, the root first (walked without recursion)."""
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        found.append(path)
        if isinstance(value, dict):
            stack.extend((path + (key,), item) for key, item in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((path + (index,), item) for index, item in reversed(list(enumerate(value))))
    return found


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


@st.composite
def structural_damage(draw: st.DrawFn, document: Any) -> Any:
    """The document with one to three places changed: a key dropped, a value replaced by one of another
    shape, garbage inserted, or a list entry duplicated (the duplicates class)."""
    document = copy.deepcopy(document)
    uniform = draw(st.randoms(use_true_random=False))  # any place equally likely, not mostly the first
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        path = paths[uniform.randrange(len(paths))]
        kind = draw(st.sampled_from(STRUCTURAL))
        if not path:
            document = draw(JSON_VALUE)
            continue
        parent, key = _at(document, path[:-1]), path[-1]
        if kind == "drop":
            del parent[key]
        elif kind == "retype":
            parent[key] = draw(JSON_VALUE)
        elif kind == "insert" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(JSON_VALUE)
        elif kind == "insert":
            parent.insert(key, draw(JSON_VALUE))
        elif kind == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        else:  # duplicate a key's value under a copy of the key: the JSON object keeps one, like a re-read
            parent[key] = copy.deepcopy(parent[key])
    return document


@st.composite
def damaged_bytes(draw: st.DrawFn, original: bytes, is_json: bool) -> bytes:
    # Structural damage three times as often as whole-file damage: it reaches the transforms.
    kind = draw(st.sampled_from((*STRUCTURAL * 3, *WHOLE) if is_json else WHOLE))
    if kind in STRUCTURAL:
        return json.dumps(draw(structural_damage(json.loads(original)))).encode()
    if kind == "truncate":
        return original[: draw(st.integers(0, max(len(original) - 1, 0)))]
    if kind == "encoding":
        codec = draw(st.sampled_from(("utf-16", "latin-1-bad", "invalid-byte")))
        if codec == "utf-16":
            return original.decode("utf-8").encode("utf-16")
        position = draw(st.integers(0, len(original)))
        return original[:position] + draw(st.sampled_from((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"))) \
            + original[position:]
    if kind == "deep":
        depth = draw(st.sampled_from((50, 900, 5000)))
        if draw(st.booleans()):
            return b"[" * depth + b"]" * depth
        return b'{"a":' * depth + b"1" + b"}" * depth
    if kind == "top":
        return json.dumps(draw(JSON_VALUE)).encode()
    return draw(st.binary(max_size=64))


def _readable(data: bytes, is_json: bool) -> bool:
    """Would a reader accept these bytes as UTF-8 JSON (or CSV) at all?"""
    try:
        text = data.decode("utf-8-sig")
        if is_json:
            json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return True


@pytest.mark.parametrize("source", list(SOURCES))
@FUZZ
@given(data=st.data())
def test_a_damaged_export_is_reported_and_never_crashes_or_touches_other_sources(source: str,
                                                                                  data: st.DataObject):
    name = data.draw(st.sampled_from(files_of(source)), label="file")
    with tempfile.TemporaryDirectory() as tmp:
        root = damaged_copy(Path(tmp), source)
        target = root / source / name
        original = target.read_bytes()
        is_json = target.suffix == ".json"
        damaged = data.draw(damaged_bytes(original, is_json), label="damage")
        target.write_bytes(damaged)
        results = {result.source: result for result in collect_folder(root)}

        result = results[source]
        crashed = [e for e in result.errors if e.message.startswith("collector failed")]
        assert not crashed, crashed
        assert all(error.file for error in result.errors), result.errors
        clean_errors = clean_run()[source]
        for error in result.errors:
            if error.file.startswith(str(root)) and json.dumps(error.to_dict()) not in clean_errors:
                assert error.file.startswith(str(root / source)), error
        if not _readable(damaged, is_json):
            assert any(error.file == str(target) or error.file == name for error in result.errors), \
                (str(target), result.errors)
        for other, other_result in results.items():
            if other != source:
                assert stable(other_result, root) == clean_run()[other], f"{other} changed: {source} damaged"
