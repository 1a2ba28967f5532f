"""What every page gets: the settings, the snapshot on screen, its analysis and cached tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from dashboard import cache
from dashboard.path_views import WriteAccess
from dashboard.settings import ScanConfig, Settings
from dashboard.snapshots import SnapshotFile
from graph.times import parse_time
from queries.findings import Analysis
from queries.paths import PathEngine
from queries.people import People


@dataclass
class Context:
    settings: Settings
    snapshots: list[SnapshotFile]  # every snapshot the user can pick, newest first
    current: SnapshotFile
    analysis: Analysis
    exceptions_error: str | None = None  # the exceptions file did not load: findings shown without it
    config: ScanConfig | None = None  # the policy and exceptions in use: the settings', else the scan's

    @property
    def policy_path(self) -> Path | None:
        return self.config.policy if self.config else self.settings.policy

    @property
    def exceptions_path(self) -> Path | None:
        return self.config.exceptions if self.config else self.settings.exceptions

    @property
    def key(self) -> cache.FileKey:
        return self.current.key

    @property
    def policy_key(self) -> cache.ConfigKey:
        return cache.config_key(self.policy_path)

    @property
    def exceptions_key(self) -> cache.ConfigKey:
        return None if self.exceptions_error else cache.config_key(self.exceptions_path)

    @property
    def graph(self) -> nx.MultiDiGraph:
        return cache.load_graph(self.key)[0]

    @property
    def metadata(self) -> dict[str, Any]:
        return cache.snapshot_metadata(self.key)

    @property
    def as_of(self) -> datetime:
        return parse_time(self.analysis.as_of) or datetime.now(UTC)

    def findings(self) -> pd.DataFrame:
        return cache.findings_table(self.key, self.policy_key, self.exceptions_key)

    def engine(self) -> PathEngine:
        return cache.path_engine(self.key, self.policy_key)

    def write_access(self) -> WriteAccess:
        return cache.write_access(self.key, self.policy_key)

    def people(self) -> People:
        return cache.people(self.key)

    def nodes(self, *families: str) -> pd.DataFrame:
        return cache.nodes_table(self.key, tuple(families))

    def finding(self, finding_id: str) -> Any:
        return next((f for f in self.analysis.findings if f.id == finding_id), None)
