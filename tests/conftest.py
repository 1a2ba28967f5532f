"""Suite-wide: the `chromium` fixture and the closing summary of what was skipped and why (tests/servers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servers import require_chromium, skip_summary


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium (.ci/chromium.sh installs it); skips without it, an error under CI=true."""
    return require_chromium()


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (file, line, reason) for skips
        return str(longrepr[2])
    return str(longrepr)


def pytest_terminal_summary(terminalreporter) -> None:
    skipped = [report for report in terminalreporter.stats.get("skipped", []) if not hasattr(report, "wasxfail")]
    if not skipped:
        return
    terminalreporter.section("what was skipped and why", sep="-", bold=True)
    for line in skip_summary(_skip_reason(report) for report in skipped):
        terminalreporter.write_line(line)
