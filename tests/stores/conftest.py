"""The sample organisation scanned once per session; its snapshot backs the embedded-store tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosspath.pipeline import scan
from graph.stores.embedded import close_all
from queries.paths import PathEngine
from queries.policy import load_policy

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


@pytest.fixture(scope="session")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample-scan")
    result = scan(SAMPLES, out, exceptions_path=SAMPLES / "exceptions.yaml")
    yield result
    close_all()


@pytest.fixture(scope="session")
def snapshot(sample) -> Path:
    return sample.snapshot


@pytest.fixture(scope="session")
def engine(sample) -> PathEngine:
    return PathEngine(sample.build.graph, load_policy())
