"""One module per source. Each exposes ``collect_offline(folder) -> CollectResult``.

The keys are the sub-folder names `crosspath scan DIR` looks for under DIR.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from graph.coverage import CollectResult

SOURCES: dict[str, str] = {
    "aws": "collectors.aws",
    "entra": "collectors.entra",
    "gcp": "collectors.gcp",
    "kubernetes": "collectors.kubernetes",
    "databases": "collectors.databases",
}


def offline_collector(source: str) -> Callable[[Path], CollectResult]:
    """The offline collect function of a source, imported on first use."""
    return importlib.import_module(SOURCES[source]).collect_offline
