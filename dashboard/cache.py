"""Everything expensive, computed once per snapshot file (keyed on its path, mtime and size) and
shared by every session: reading the graph, the analysis, the tables, the path engine.

`st.cache_resource` hands out the same object to every caller, so callers must not mutate them.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd
import streamlit as st

from collectors import technique_catalogue
from crosspath.pipeline import analyse_snapshot, recorded_fixes
from dashboard.path_views import WriteAccess
from dashboard.tables import findings_frame, nodes_frame
from graph.snapshot import gc_paused, is_arrow, read_snapshot, read_tables, reading_tables
from graph.times import parse_time
from queries.analysis import analyze
from queries.drift import Drift, diff
from queries.exceptions import load_exceptions
from queries.findings import Analysis
from queries.fixes import DEFAULT_TOP as DEFAULT_TOP_FIXES
from queries.fixes import top_fixes as fixes_for
from queries.paths import PathEngine
from queries.people import People
from queries.policy import load_policy

FileKey = tuple[str, float, int]
ConfigKey = tuple[str, float] | None  # (path, mtime) of a policy or exceptions file


def config_key(path: Path | None) -> ConfigKey:
    """Editing the policy or exceptions file changes this key, so the analysis is redone."""
    if path is None:
        return None
    return str(path), path.stat().st_mtime if path.exists() else -1.0


def _config_path(key: ConfigKey) -> Path | None:
    return Path(key[0]) if key else None


def _kept(value: Any) -> Any:
    """Move everything allocated so far out of the cyclic garbage collector's reach.

    Streamlit runs a full collection after every script run (`runner.postScriptGC`); over the
    ~15 million objects of a 1M-edge graph that took 2-3 s per click. Frozen objects are still
    freed by reference counting when the cache drops them; what only the cyclic collector can free
    (a networkx graph references itself through its cached views) is collected when the next
    snapshot is read (`load_graph`), which is also when the cache evicts graphs.
    """
    gc.freeze()
    return value


@st.cache_resource(max_entries=3, show_spinner="Reading the snapshot…")
def load_graph(key: FileKey) -> tuple[nx.MultiDiGraph, dict[str, Any]]:
    gc.unfreeze()
    gc.collect()  # graphs the cache has dropped since the last read
    return _kept(read_snapshot(Path(key[0])))


@st.cache_resource(max_entries=3, show_spinner="Reading the snapshot…")
def load_tables(key: FileKey) -> tuple[Any, Any, dict[str, Any]] | None:
    """A version 2 snapshot's tables (memory-mapped) and metadata; None for a version 1 file (read as a graph)."""
    path = Path(key[0])
    return read_tables(path) if is_arrow(path) else None


def snapshot_metadata(key: FileKey) -> dict[str, Any]:
    tables = load_tables(key)
    return tables[2] if tables is not None else load_graph(key)[1]


@st.cache_resource(max_entries=3, show_spinner="Finding privileged write paths…")
def analysis_engine(key: FileKey, policy: ConfigKey) -> PathEngine:
    """The analysis's path engine: compiled from a version 2 snapshot's tables (no networkx graph, so the
    Overview and the Findings never read one), else the explorers' (path_engine)."""
    tables = load_tables(key)
    if tables is None:
        return path_engine(key, policy)
    with gc_paused(), reading_tables(Path(key[0])):
        return _kept(PathEngine.from_tables(tables[0], tables[1], load_policy(_config_path(policy))))


@st.cache_resource(max_entries=6, show_spinner="Finding privileged write paths…")
def load_analysis(key: FileKey, policy: ConfigKey, exceptions: ConfigKey) -> Analysis:
    """As `crosspath report` does: on the tables when the snapshot has them and carries the top fixes the
    Overview shows (analysis_engine); else on the explorers' engine, which verifying the fixes needs anyway."""
    metadata = snapshot_metadata(key)
    as_of = parse_time(metadata.get("collected_at")) or datetime.now(UTC)
    loaded_exceptions = load_exceptions(_config_path(exceptions))  # a broken file fails before the work
    recorded = recorded_fixes(metadata, _config_path(policy), _config_path(exceptions), DEFAULT_TOP_FIXES)
    engine = analysis_engine(key, policy) if recorded is not None else path_engine(key, policy)
    with gc_paused(), reading_tables(Path(key[0])):
        return _kept(analyze(engine.graph, metadata, engine.policy, loaded_exceptions, as_of, engine=engine,
                             techniques=technique_catalogue()))


@st.cache_resource(max_entries=6, show_spinner="Verifying the fixes that close the most findings…")
def top_fixes(key: FileKey, policy: ConfigKey, exceptions: ConfigKey, uploaded: bool = False) -> list[dict[str, Any]]:
    """The Overview's top fixes, as `crosspath scan` computes them (each count verified): the ones the scan
    recorded in the snapshot when the policy and exceptions files are those it used, unchanged
    (pipeline.recorded_fixes), else verified here, per snapshot, policy and exceptions (at 100k
    identities that is about 20 CPU seconds of the dashboard's first load). An uploaded snapshot's are never taken:
    its metadata is the uploader's word."""
    recorded = None if uploaded else recorded_fixes(snapshot_metadata(key), _config_path(policy),
                                                     _config_path(exceptions), DEFAULT_TOP_FIXES)
    if recorded is not None:  # the scan verified them under these very files
        return recorded
    graph, _ = load_graph(key)
    analysis = load_analysis(key, policy, exceptions)
    open_ids = [finding.id for finding in analysis.open_findings]
    as_of = parse_time(analysis.as_of) or datetime.now(UTC)
    engine = path_engine(key, policy)  # the explorers' engine is the fix search's first run
    return _kept(fixes_for(graph, engine.policy, open_ids, DEFAULT_TOP_FIXES, as_of, engine))


@st.cache_resource(max_entries=6, show_spinner=False)
def findings_table(key: FileKey, policy: ConfigKey, exceptions: ConfigKey) -> pd.DataFrame:
    return _kept(findings_frame(load_analysis(key, policy, exceptions)))


@st.cache_resource(max_entries=3, show_spinner="Indexing paths…")
def path_engine(key: FileKey, policy: ConfigKey) -> PathEngine:
    graph, _ = load_graph(key)
    loaded = load_policy(_config_path(policy))
    with gc_paused():
        return _kept(PathEngine(graph, loaded))


@st.cache_resource(max_entries=3, show_spinner="Indexing who can write what…")
def write_access(key: FileKey, policy: ConfigKey) -> WriteAccess:
    return _kept(WriteAccess(path_engine(key, policy)))


@st.cache_resource(max_entries=6, show_spinner=False)
def nodes_table(key: FileKey, families: tuple[str, ...]) -> pd.DataFrame:
    graph, _ = load_graph(key)
    return _kept(nodes_frame(graph, families))


@st.cache_resource(max_entries=3, show_spinner=False)
def people(key: FileKey) -> People:
    """Names, emails and people of a snapshot, indexed once: the Identity explorer's look-ups."""
    graph, _ = load_graph(key)
    return _kept(People(graph))


@st.cache_resource(max_entries=3, show_spinner="Comparing snapshots…")
def drift(old: FileKey, new: FileKey, policy: ConfigKey, exceptions: ConfigKey) -> Drift:
    return _kept(diff(
        load_analysis(old, policy, exceptions), load_analysis(new, policy, exceptions),
        load_graph(old)[0], load_graph(new)[0],
    ))


@st.cache_data(max_entries=64, show_spinner="Counting findings in older snapshots…")
def trend_point(key: FileKey, policy: ConfigKey, exceptions: ConfigKey) -> dict[str, Any]:
    """Open findings by severity in one snapshot; read without keeping its graph in memory."""
    # a version 2 snapshot on its memory-mapped tables, without a graph (analyse_snapshot pauses the collector)
    analysis = analyse_snapshot(Path(key[0]), _config_path(policy), _config_path(exceptions))
    summary, metadata = analysis.summary(), analysis.metadata
    return {"collected_at": metadata.get("collected_at"), **summary["by_severity"], "open": summary["open"]}
