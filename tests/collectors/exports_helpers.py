"""Small valid export folders, one per source, to copy and damage (tests of docs/reliability.md
"Export files"), and a stable view of a collection result to compare runs made in different folders."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

from collectors import SOURCES
from graph.coverage import CollectResult

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"

# What each source's small export holds (paths under data/samples/<source>; whole folders are copied).
# AWS keeps one account (the other, with AdministratorAccess everywhere, takes most of AWS's time).
PARTS: dict[str, tuple[str, ...]] = {
    "aws": ("111111111111", "identity-center", "organizations-accounts.json"),
    "entra": (".",),
    "gcp": (".",),
    "kubernetes": (".",),
    "databases": ("orders-prod.json", "billing-prod.json"),
}

# The export each source's targeted tests damage.
MAIN_FILE = {
    "aws": "111111111111/authorization-details.json",
    "entra": "users.json",
    "gcp": "projects/lumen-data-prod/iam-policy.json",
    "kubernetes": "prod-eks/rbac.json",
    "databases": "orders-prod.json",
}

# A per-scope folder of each source (an account, a tenant's per-object folder, a project, a cluster, a
# folder of dumps) and an empty one the tests create.
SCOPE_FOLDER = {
    "aws": "111111111111",
    "entra": "group-members",
    "gcp": "projects/lumen-sandbox",
    "kubernetes": "aks-prod",
    "databases": "mysql",
}
EMPTY_FOLDER = {
    "aws": "333333333333",
    "entra": "azure/roleDefinitions",
    "gcp": "projects/empty-project",
    "kubernetes": "empty-cluster",
    "databases": "archive",
}


def make_export(root: Path, source: str) -> Path:
    """Copy the source's small valid export to root/<source> and return that folder."""
    folder = root / source
    folder.mkdir(parents=True, exist_ok=True)
    for part in PARTS[source]:
        origin = SAMPLES / source / part
        if origin.is_dir():
            shutil.copytree(origin, folder if part == "." else folder / part, dirs_exist_ok=True)
        else:
            shutil.copy2(origin, folder / part)
    if source == "databases":  # one dump in a sub-folder, so the source has a folder to damage
        (folder / "mysql").mkdir()
        (folder / "billing-prod.json").rename(folder / "mysql" / "billing-prod.json")
    return folder


def make_all(root: Path) -> Path:
    for source in SOURCES:
        make_export(root, source)
    return root


def export_files(folder: Path) -> list[Path]:
    """The export files of a folder (what a test may damage), sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".json", ".csv"))


def stable(result: CollectResult, root: Path) -> str:
    """The result as text with the run's folder replaced, so runs in two folders compare equal."""
    coverage = result.coverage.to_dict() if result.coverage else {}
    view: dict[str, Any] = {
        "nodes": sorted(result.nodes, key=lambda n: json.dumps(n, sort_keys=True, default=str)),
        "edges": sorted(result.edges, key=lambda e: json.dumps(e, sort_keys=True, default=str)),
        "errors": sorted(json.dumps(e.to_dict(), sort_keys=True) for e in result.errors),
        "coverage": coverage,
    }
    return json.dumps(view, sort_keys=True, default=str).replace(str(root), "<root>")


def edge_keys(result: CollectResult) -> set[tuple[str, str, str, str]]:
    return {(e["source"], e["target"], e["kind"], e["via"]) for e in result.edges}


def node_ids(result: CollectResult) -> set[str]:
    return {n["id"] for n in result.nodes}


# Hypothesis: a bounded, derandomised run in the normal suite (the same examples every run, so CI never
# flakes); `make fuzz` selects the long profile (CROSSPATH_HYPOTHESIS_PROFILE=fuzz) with many more,
# random examples (CROSSPATH_FUZZ_EXAMPLES, default 1000 per test).
settings.register_profile(
    "bounded", max_examples=25, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("CROSSPATH_FUZZ_EXAMPLES", "1000")), deadline=None, database=None,
    print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ = settings.get_profile(os.environ.get("CROSSPATH_HYPOTHESIS_PROFILE", "bounded"))
