"""What one source run produced: its records (`CollectResult`) and what it covered (`Coverage`).

This sits in the records layer: collectors fill it, the graph builder reads it, and snapshots carry
`Coverage.to_dict()` in their metadata (`coverage.<source>`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from graph.records import Record, RecordError


class CoverageStatus(StrEnum):
    """How much of a source a run read. The values are the strings snapshots and reports carry."""

    COMPLETE = "complete"  # every expected input was read
    PARTIAL = "partial"  # some files, records or calls were rejected or denied; the rest loaded
    MISSING = "missing"  # nothing to read (no folder, no export files): the source is not covered
    FAILED = "failed"  # the collector could not read the source at all


NODES = "nodes"
EDGES = "edges"


@dataclass
class Coverage:
    """What one source run saw: which files, how many records, what failed.

    `counts` keys are dotted, `<family>.<what>`, in these families only:

    - `nodes.<Kind>`: node records by kind (`nodes.User`, `nodes.access_key`); set by `count_records`
    - `edges.<KIND>`: edge records by kind (`edges.HAS_PERMISSION`); set by `count_records`
    - `read.<what>`: export items read that do not map one to one onto records
      (`read.bindings`, `read.conditional_bindings`, `read.user_managed_keys`, ...)
    - `skipped.<what>`: items read or drawn and deliberately not kept (`skipped.system_managed_keys`,
      `skipped.unresolved_edges`: edges whose end no collected source has; `skipped.inactive_edges`: edges
      whose grant a time condition makes inactive at the collection time, dropped by the graph builder)
    - `deny.<what>`: deny policies (`deny.rules`, `deny.narrowed_grants`: grants they took permissions from)
    - `escalation.<technique id>`: edges derived by a privilege-escalation technique
    """

    source: str
    status: CoverageStatus = CoverageStatus.COMPLETE
    files: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)  # accounts, tenants, projects, clusters, servers
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = CoverageStatus(self.status)

    def degrade(self) -> None:
        """Something expected was not read: a complete source becomes partial (others stay as they are)."""
        if self.status == CoverageStatus.COMPLETE:
            self.status = CoverageStatus.PARTIAL

    def count_records(self, nodes: Iterable[Record], edges: Iterable[Record]) -> None:
        """Set `nodes.<Kind>` and `edges.<KIND>` from the records; other counters are kept. Keys stay sorted."""
        counts = {key: value for key, value in self.counts.items() if key.partition(".")[0] not in (NODES, EDGES)}
        counts.update(Counter(f"{NODES}.{record['kind']}" for record in nodes))
        counts.update(Counter(f"{EDGES}.{record['kind']}" for record in edges))
        self.counts = dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": str(self.status),
            "files": self.files,
            "scopes": self.scopes,
            "counts": self.counts,
            "notes": self.notes,
        }


@dataclass
class CollectResult:
    """Records from one source plus what was covered and what went wrong."""

    source: str
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    coverage: Coverage | None = None
    # Per-file record batches, so validation errors can name the file a record came from.
    origins: list[tuple[str, int, int]] = field(default_factory=list)
    # Index of coverage.files, so adding 10,000s of files stays linear; rebuilt if the list changed size.
    _file_index: set[str] = field(default_factory=set, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.coverage is None:
            self.coverage = Coverage(self.source)

    def add(self, file: str, nodes: list[Record], edges: list[Record]) -> None:
        """Append one file's records and remember which file they came from."""
        self.origins.append((file, len(nodes), len(edges)))
        self.nodes.extend(nodes)
        self.edges.extend(edges)
        files = self.coverage.files
        if len(self._file_index) != len(files):
            self._file_index = set(files)
        if file not in self._file_index:
            files.append(file)
            self._file_index.add(file)

    def fail(self, error: RecordError) -> None:
        self.errors.append(error)
        self.coverage.degrade()
