"""Export files are never silent and never crash a source (docs/reliability.md, "Export files").

Every class of issue 16's "Never silent" / "No crash" items, on each of the five sources where it applies,
over a small valid export folder per source (tests/collectors/exports_helpers.py) copied and damaged.

Tests run as root here, so `chmod 000` does not stop a read: an unreadable file or folder is simulated by
making the one read (Path.read_bytes) or listing (os.scandir) raise PermissionError for that path.
"""

from __future__ import annotations

import copy
import json
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from collectors import SOURCES, offline_collector
from graph.coverage import CollectResult, CoverageStatus
from tests.collectors.exports_helpers import (
    EMPTY_FOLDER,
    MAIN_FILE,
    SAMPLES,
    SCOPE_FOLDER,
    edge_keys,
    make_export,
    node_ids,
    stable,
)

ALL = list(SOURCES)


@contextmanager
def no_hang(seconds: int = 60) -> Iterator[None]:
    """Fail instead of waiting forever (opening a FIFO blocks until a writer comes)."""
    def stop(*_: Any) -> None:
        raise TimeoutError(f"collector still running after {seconds}s (did it open a FIFO?)")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def collect(folder: Path, source: str) -> CollectResult:
    with no_hang():
        return offline_collector(source)(folder)


def clean(tmp_path: Path, source: str) -> tuple[CollectResult, Path]:
    folder = make_export(tmp_path / "clean", source)
    return collect(folder, source), tmp_path / "clean"


def records(result: CollectResult, root: Path) -> dict[str, Any]:
    """Nodes and edges only, comparable across folders."""
    view = json.loads(stable(result, root))
    return {"nodes": view["nodes"], "edges": view["edges"]}


def edit_json(path: Path, change: Callable[[Any], Any]) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(change(document) or document), encoding="utf-8")


def errors_for(result: CollectResult, path: Path) -> list[str]:
    return [str(error) for error in result.errors if error.file == str(path)]


def notes_for(result: CollectResult, path: Path) -> list[str]:
    return [note for note in result.coverage.notes if str(path) in note]


# --- 1. duplicates ----------------------------------------------------------------------------------

# (file, the list holding the entries, which entry, its copy that grants nothing: ids only, no policies,
#  no rules, no grant flags). The stripped copy goes after the full entry, or before it.
def _aws(entry: dict) -> dict:
    return {key: entry[key] for key in ("UserName", "Arn", "UserId", "Path")}


def _k8s(entry: dict) -> dict:
    return {"apiVersion": entry["apiVersion"], "kind": entry["kind"],
            "metadata": {"name": entry["metadata"]["name"], "namespace": entry["metadata"]["namespace"]},
            "rules": []}


def _pg(entry: dict) -> dict:
    return {**entry, **{key: False for key, value in entry.items() if value is True}}


DUPLICATES: dict[str, tuple[str, tuple[str, ...], Callable[[dict], bool], Callable[[dict], dict]]] = {
    "aws": ("111111111111/authorization-details.json", ("UserDetailList",),
            lambda e: e["UserName"] == "ops-oncall", _aws),
    "entra": ("users.json", ("value",), lambda e: True, lambda e: {"id": e["id"]}),
    "gcp": ("projects/lumen-data-prod/service-accounts.json", (),
            lambda e: e["email"].startswith("archiver@"), lambda e: {"email": e["email"]}),
    "kubernetes": ("prod-eks/rbac.json", ("items",),
                   lambda e: e["kind"] == "Role" and e["metadata"]["name"] == "secret-reader", _k8s),
    "databases": ("orders-prod.json", ("roles",), lambda e: e["rolname"] == "rdsadmin", _pg),
}


@pytest.mark.parametrize("stripped_first", [False, True], ids=["full-copy-first", "stripped-copy-first"])
@pytest.mark.parametrize("source", ALL)
def test_a_duplicate_entry_is_an_error_and_merged_without_dropping_a_grant(tmp_path, source, stripped_first):
    """A second entry for the same id (ids only: no policies, rules or grant flags) used to replace the
    first in AWS, Kubernetes and PostgreSQL, and findings vanished. Now the copies merge by one rule
    (collectors/base.merge_entry: the first copy's values win, the second fills gaps, lists are united, a
    grant flag set in either counts), whichever comes first, and the duplicate is an error naming the
    file and both positions; the source is partial."""
    expected, clean_root = clean(tmp_path, source)
    name, where, which, strip = DUPLICATES[source]
    folder = make_export(tmp_path / "run", source)

    def duplicate(document: Any) -> Any:
        entries = document
        for key in where:
            entries = entries[key]
        index = next(i for i, entry in enumerate(entries) if which(entry))
        copy_ = strip(copy.deepcopy(entries[index]))
        if stripped_first:
            entries.insert(index, copy_)
        else:
            entries.append(copy_)
        return document

    edit_json(folder / name, duplicate)
    result = collect(folder, source)

    assert records(result, tmp_path / "run") == records(expected, clean_root)
    found = [e for e in result.errors if "duplicate" in e.message]
    assert len(found) == 1, result.errors
    assert found[0].file == str(folder / name) and found[0].fix
    assert " at " in found[0].record and "duplicate of the entry at " in found[0].message  # both positions
    assert result.coverage.status == CoverageStatus.PARTIAL


def test_two_authorization_details_files_for_one_account_are_merged_not_ignored(tmp_path):
    """The second file of an account used to be ignored (its grants lost); now both count."""
    expected, clean_root = clean(tmp_path, "aws")
    folder = make_export(tmp_path / "run", "aws")
    details = json.loads((folder / MAIN_FILE["aws"]).read_text())
    users = details["UserDetailList"]
    first = {**details, "UserDetailList": users[:5]}
    second = {"UserDetailList": users[5:]}
    (folder / MAIN_FILE["aws"]).write_text(json.dumps(first))
    (folder / "111111111111" / "authorization-details-2.json").write_text(json.dumps(second))
    result = collect(folder, "aws")
    assert records(result, tmp_path / "run")["edges"] == records(expected, clean_root)["edges"]
    assert any("a second authorization-details file" in e.message for e in result.errors)
    assert result.coverage.status == CoverageStatus.PARTIAL


# --- 2. files found and not read ----------------------------------------------------------------------


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.name)


def _dangling(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.with_name("nowhere.json"))


@pytest.mark.parametrize("make", [_fifo, _loop, _dangling], ids=["fifo", "symlink-loop", "dangling-symlink"])
@pytest.mark.parametrize("source", ALL)
def test_an_export_that_is_not_a_regular_file_is_a_note_and_the_source_partial(tmp_path, source, make):
    folder = make_export(tmp_path, source)
    target = folder / MAIN_FILE[source]
    make(target)
    result = collect(folder, source)
    assert any("not read" in note for note in notes_for(result, target)), result.coverage.notes
    assert result.coverage.status in (CoverageStatus.PARTIAL, CoverageStatus.FAILED)
    assert result.nodes or source == "aws"  # the other files still load (AWS: its only account is gone)


def test_a_folder_loop_is_noted_once_and_not_read_twice(tmp_path):
    folder = make_export(tmp_path, "databases")
    (folder / "mysql" / "again").symlink_to(folder, target_is_directory=True)
    result = collect(folder, "databases")
    assert any("a loop" in note for note in notes_for(result, folder / "mysql" / "again"))
    assert result.coverage.status == CoverageStatus.PARTIAL
    assert sum(1 for scope in result.coverage.scopes) == 2


WRONG_TOP = {"aws": "a JSON object with UserDetailList, GroupDetailList, RoleDetailList and Policies",
             "entra": 'a Graph collection response {"value": [...]}',
             "gcp": "an IAM policy must be a JSON object with 'bindings'",
             "kubernetes": "a kubectl JSON object (kind List, with an items list)",
             "databases": "a dump must be a JSON object"}


@pytest.mark.parametrize("source", ALL)
def test_a_file_of_the_wrong_top_level_type_is_an_error_naming_the_expected_shape(tmp_path, source):
    """`authorization-details.json` holding "a string" used to lose the account silently (AWS recognises
    files by content); a documented name now promises a shape, and every source names file and shape."""
    folder = make_export(tmp_path, source)
    target = folder / MAIN_FILE[source]
    target.write_text(json.dumps("a string"))
    result = collect(folder, source)
    found = errors_for(result, target)
    assert any(WRONG_TOP[source] in text and "got a string" in text for text in found), result.errors
    assert result.coverage.status != CoverageStatus.COMPLETE


# --- 3. empty per-scope folders -----------------------------------------------------------------------


@pytest.mark.parametrize("source", ALL)
def test_an_empty_scope_folder_is_a_note_and_the_source_partial(tmp_path, source):
    """An empty cluster folder (or account, project, per-object or dump folder) used to vanish."""
    expected, clean_root = clean(tmp_path, source)
    folder = make_export(tmp_path / "run", source)
    (folder / EMPTY_FOLDER[source]).mkdir(parents=True)
    result = collect(folder, source)
    assert any("empty folder" in note for note in notes_for(result, folder / EMPTY_FOLDER[source]))
    assert result.coverage.status == CoverageStatus.PARTIAL
    assert records(result, tmp_path / "run") == records(expected, clean_root)


# --- 4. bad bytes and shapes ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", ALL)
def test_non_utf8_bytes_are_an_error_naming_the_file_and_the_rest_loads(tmp_path, source):
    folder = make_export(tmp_path, source)
    target = folder / MAIN_FILE[source]
    raw = target.read_bytes()
    at = raw.index(b'"') + 1
    target.write_bytes(raw[:at] + b"\xff\xfe" + raw[at:])
    result = collect(folder, source)
    assert any("not UTF-8" in text and "offset" in text for text in errors_for(result, target)), result.errors
    assert result.coverage.status in (CoverageStatus.PARTIAL, CoverageStatus.FAILED)
    assert result.nodes or source == "aws"


@pytest.mark.parametrize("source", ALL)
def test_json_nested_5000_deep_is_an_error_naming_the_file(tmp_path, source):
    folder = make_export(tmp_path, source)
    target = folder / MAIN_FILE[source]
    target.write_text("[" * 5000 + "]" * 5000)
    result = collect(folder, source)
    assert any("nested too deeply" in text for text in errors_for(result, target)), result.errors
    assert result.nodes or source == "aws"


def _aws_type(folder: Path) -> tuple[Path, str]:
    path = folder / MAIN_FILE["aws"]
    edit_json(path, lambda d: d["UserDetailList"][2].update(UserName=123))
    return path, "UserName"


def _entra_type(folder: Path) -> tuple[Path, str]:
    path = folder / "userRegistrationDetails.json"
    edit_json(path, lambda d: d["value"][0].update(methodsRegistered=True))
    return path, "methodsRegistered"


def _gcp_type(folder: Path) -> tuple[Path, str]:
    path = folder / MAIN_FILE["gcp"]
    edit_json(path, lambda d: d["bindings"][0].update(members="user:someone@example.com"))
    return path, "members"


def _k8s_type(folder: Path) -> tuple[Path, str]:
    path = folder / MAIN_FILE["kubernetes"]
    edit_json(path, lambda d: d["items"][8]["metadata"].update(labels=5))
    return path, "metadata.labels"


def _db_type(folder: Path) -> tuple[Path, str]:
    path = folder / MAIN_FILE["databases"]
    edit_json(path, lambda d: d["roles"][0].update(rolsuper="yes"))
    return path, "rolsuper"


WRONG_TYPE = {"aws": _aws_type, "entra": _entra_type, "gcp": _gcp_type, "kubernetes": _k8s_type,
              "databases": _db_type}


@pytest.mark.parametrize("source", ALL)
def test_a_field_of_the_wrong_type_is_an_error_naming_file_and_field_and_the_rest_loads(tmp_path, source):
    """`"UserName": 123` used to fail all of AWS (a TypeError, fix "report this"); every source now rejects
    just that record, naming the file, the field and a fix."""
    expected, _ = clean(tmp_path, source)
    folder = make_export(tmp_path / "run", source)
    path, field = WRONG_TYPE[source](folder)
    result = collect(folder, source)
    found = [e for e in result.errors if e.file == str(path) and field in f"{e.field} {e.message}"]
    assert found and all(e.fix and "report" not in e.fix for e in found), result.errors
    assert result.coverage.status == CoverageStatus.PARTIAL
    assert len(node_ids(result)) >= len(node_ids(expected)) - 3  # only that record's own nodes go


def test_a_wrong_type_in_one_aws_account_leaves_the_other_account_whole(tmp_path):
    import shutil
    folder = tmp_path / "aws"
    shutil.copytree(SAMPLES / "aws", folder)
    _aws_type(folder)
    result = collect(folder, "aws")
    assert "aws:account/222222222222" in result.coverage.scopes
    assert "aws:account/111111111111" in result.coverage.scopes
    assert any(e.field == "UserName" for e in result.errors)


def test_a_5000_deep_aggregated_cluster_role_chain_resolves_and_other_clusters_load(tmp_path):
    """A ClusterRole aggregating one that aggregates the next, 5,000 deep, used to raise RecursionError
    and lose all three clusters; the walk is iterative now."""
    folder = make_export(tmp_path, "kubernetes")
    depth = 5000
    roles = [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
              "metadata": {"name": f"chain-{n}", "labels": {"chain": str(n)}},
              "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"chain": str(n + 1)}}]},
              "rules": []} for n in range(depth)]
    roles[-1]["rules"] = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "chain-top"}, "roleRef": {"kind": "ClusterRole", "name": "chain-0"},
               "subjects": [{"kind": "User", "name": "chain-user"}]}
    (folder / "prod-eks" / "chain.json").write_text(json.dumps({"kind": "List", "items": [*roles, binding]}))
    result = collect(folder, "kubernetes")
    assert not result.errors, result.errors
    assert len(result.coverage.scopes) == 3
    assert any(e["source"] == "k8s:prod-eks/user/chain-user" and e["kind"] == "HAS_PERMISSION"
               for e in result.edges)


@pytest.mark.parametrize("source", ALL)
def test_an_unreadable_folder_is_a_note_and_everything_else_loads(tmp_path, source, monkeypatch):
    """PermissionError listing a folder used to fail all of GCP. Simulated (tests run as root): listing
    that one folder raises PermissionError."""
    folder = make_export(tmp_path, source)
    locked = folder / SCOPE_FOLDER[source]
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = collect(folder, source)
    assert any("cannot be listed: Permission denied" in note for note in notes_for(result, locked)), \
        result.coverage.notes
    assert result.coverage.status in (CoverageStatus.PARTIAL, CoverageStatus.FAILED)
    assert result.nodes or source == "aws"


@pytest.mark.parametrize("source", ALL)
def test_an_unreadable_file_is_an_error_naming_it_and_everything_else_loads(tmp_path, source, monkeypatch):
    """Simulated (tests run as root): reading that one file raises PermissionError."""
    folder = make_export(tmp_path, source)
    locked = folder / MAIN_FILE[source]
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = collect(folder, source)
    assert any("cannot read file: Permission denied" in text for text in errors_for(result, locked)), \
        result.errors
    assert result.coverage.status in (CoverageStatus.PARTIAL, CoverageStatus.FAILED)
    assert result.nodes or source == "aws"


def test_duplicate_records_keep_edges_of_both_copies_in_the_builder_too():
    """The graph builder's merge (several sources or files naming one node) follows the same rule."""
    from datetime import UTC, datetime

    from graph.builder import build_graph
    from graph.records import edge, node
    from graph.schema import EdgeKind, Family
    result = CollectResult("aws")
    first = node("aws:a", Family.IDENTITY, "User", "aws", "a", "s", human=True, mfa=None, email=None)
    second = node("aws:a", Family.IDENTITY, "User", "aws", "other", "s", human=True, mfa=True, email="a@x")
    target = node("aws:r", Family.RESOURCE, "bucket", "aws", "r", "s")
    result.add("f", [first, second, target], [
        edge("aws:a", "aws:r", EdgeKind.HAS_PERMISSION, "one", level="write", actions=["s3:Put"]),
        edge("aws:a", "aws:r", EdgeKind.HAS_PERMISSION, "two", level="read", actions=["s3:Get"])])
    graph = build_graph([result], datetime(2026, 1, 1, tzinfo=UTC)).graph
    assert graph.nodes["aws:a"]["name"] == "a" and graph.nodes["aws:a"]["mfa"] is True
    assert graph.number_of_edges("aws:a", "aws:r") == 2


@pytest.mark.parametrize("source", ALL)
def test_the_clean_small_exports_are_complete(tmp_path, source):
    result, _ = clean(tmp_path, source)
    assert result.coverage.status == CoverageStatus.COMPLETE, (result.errors, result.coverage.notes)
    assert edge_keys(result)
