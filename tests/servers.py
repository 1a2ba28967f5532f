"""The one rule for tests that need a server or program the machine may lack.

`make test` first runs the set-up scripts CI runs (.ci/chromium.sh, .ci/databases.sh, .ci/kubernetes.sh).
Where one could not do its job (not root, no package access, a failed build), each test needing what is
missing SKIPS with one line naming it and the exact command that provides it, and `make test` ends with a
summary of the skips grouped by reason (tests/conftest.py). Under CI (`CI=true`) the same line is an
ERROR instead: CI must never go green by skipping.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import pytest

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, what .ci/chromium.sh installs


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing(what: str, command: str, detail: str = "") -> NoReturn:
    """Skip the test (outside CI) or fail it (CI=true), naming `what` is missing and `command` that provides it."""
    message = f"{what} missing: run `{command}`" + (f" ({detail})" if detail else "")  # the command survives a cut
    if under_ci():
        pytest.fail(f"{message} [CI=true: a missing server is an error, never a skip]", pytrace=False)
    pytest.skip(message)


def require_chromium() -> Path:
    if not CHROMIUM.exists():
        missing("Chromium", "sudo .ci/chromium.sh", f"no {CHROMIUM}")
    return CHROMIUM


def skip_summary(reasons: Iterable[str], limit: int = 110) -> list[str]:
    """One line per distinct skip reason, most frequent first: `  3 x <reason>` (long reasons cut at `limit`)."""
    counts = Counter(" ".join(reason.removeprefix("Skipped: ").split()) for reason in reasons)
    lines = []
    for reason, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        text = reason if len(reason) <= limit else reason[: limit - 3] + "..."
        lines.append(f"{count:3d} x {text}")
    return lines
