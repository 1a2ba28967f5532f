"""One module per source. Each exposes ``collect_offline(folder) -> CollectResult``.

The keys are the sub-folder names `crosspath scan DIR` looks for under DIR.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from graph.coverage import CollectResult
from graph.techniques import CATALOGUE, Catalogue

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


def technique_catalogue() -> Catalogue:
    """Every source's techniques: each source registers its own when it is imported."""
    for module in SOURCES.values():
        importlib.import_module(module)
    return CATALOGUE
