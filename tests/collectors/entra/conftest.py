"""Fixtures the Entra collector tests share."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "samples" / "entra"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the sample organisation's Entra exports that a test may damage."""
    folder = tmp_path / "entra"
    shutil.copytree(SAMPLE, folder)
    return folder
