"""End to end in a real browser: `streamlit run app.py` on 127.0.0.1, driven by Debian's Chromium
through Playwright. Visits every page, applies a filter, opens a path, saves a screenshot of each
page (into $CROSSPATH_SCREENSHOTS, default crosspath-out/screenshots/) and fails on any Streamlit
exception box or browser console error.

CROSSPATH_README_IMAGES=1 also copies the overview and path view shots to docs/img/ for the README.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from crosspath.pipeline import run_analysis
from graph.snapshot import read_snapshot
from tests.dashboard.conftest import APP, ROOT, SampleOut, write_sample_out

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("CROSSPATH_SCREENSHOTS") or ROOT / "crosspath-out" / "screenshots")
README_IMAGES = {"01-overview.png": "dashboard-overview.png", "03-path-view.png": "dashboard-path-view.png"}

pytestmark = pytest.mark.usefixtures("chromium")  # skips naming .ci/chromium.sh; an error under CI=true


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SampleOut]]:
    sample = write_sample_out(tmp_path_factory.mktemp("dashboard") / "out")
    port = _free_port()
    log = open(sample.folder / "streamlit.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--", "--snapshots", str(sample.folder), "--exceptions", str(sample.exceptions)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("streamlit did not start:\n" + (sample.folder / "streamlit.log").read_text())
            time.sleep(0.5)
        yield url, sample
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _settle(page, heading: str) -> None:
    """Wait until the script run is over and the page's content is on screen. Streamlit shows its
    status widget ("Running…") only from about half a second into a run: wait for it to come (a
    quick run never shows it), then to go."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="attached", timeout=1_500)
    except PlaywrightTimeout:
        pass
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
    page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=60_000)
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=60_000)
    page.wait_for_timeout(700)  # charts and data grids draw after the script has finished
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def _goto(page, name: str, heading: str) -> None:
    page.get_by_test_id("stSidebar").get_by_text(name, exact=True).click()
    _settle(page, heading)


def _shot(page, name: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"{name}: Streamlit exception shown"
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _type(page, label: str, text: str, heading: str) -> None:
    box = page.get_by_label(label)
    box.fill(text)
    box.press("Enter")
    _settle(page, heading)


def test_every_page_in_chromium(server: tuple[str, SampleOut]) -> None:
    from playwright.sync_api import sync_playwright

    url, sample = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1700})
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text} {msg.location}")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.goto(url)
        _settle(page, "Overview")
        assert page.get_by_text("Fix these first: the top 10 open findings").is_visible()
        assert page.get_by_text("Coverage per source").is_visible()
        page.locator('[data-testid="stDataFrame"]').nth(1).wait_for()  # the top 10 and the coverage table
        _shot(page, "01-overview.png")

        _goto(page, "Findings", "Findings")
        total_text = page.get_by_text(" findings", exact=False).filter(has_text=" of ").first.inner_text()
        shown, total = int(total_text.split()[0]), int(total_text.split()[2])
        assert shown == total > 1
        _type(page, "Search (id, entry, target, path)", "invoices", "Findings")
        filtered_text = page.get_by_text(" findings", exact=False).filter(has_text=" of ").first.inner_text()
        assert 0 < int(filtered_text.split()[0]) < total, filtered_text
        assert "Dana Ruiz" in page.locator("svg.path-picture").first.inner_html()  # the first row's path
        # Selecting the second row in the table (its checkbox, drawn on the grid's canvas) shows its path.
        grid = page.get_by_test_id("stDataFrame").first.bounding_box()
        page.mouse.click(grid["x"] + 14, grid["y"] + 35 * 2 + 17)
        _settle(page, "Findings")
        assert "Omar Haddad" in page.locator("svg.path-picture").first.inner_html()
        _shot(page, "02-findings-filtered.png")
        # The selector under the table still works while that row stays selected.
        page.get_by_label("Show the path of").first.click()
        page.get_by_role("option", name="Dana Ruiz", exact=False).first.click()
        _settle(page, "Findings")
        assert "Dana Ruiz" in page.locator("svg.path-picture").first.inner_html()
        page.get_by_label("Show the path of").first.click()
        page.get_by_role("option", name="Omar Haddad", exact=False).first.click()
        _settle(page, "Findings")

        page.get_by_role("button", name="Open in Path view").click()
        _settle(page, "Path view")
        picture = page.locator("svg.path-picture")
        assert picture.count() == 1 and "lumen-prod-invoices" in picture.first.inner_html()
        _shot(page, "03-path-view.png")

        _goto(page, "Identity explorer", "Identity explorer: blast radius")
        _type(page, "Search by name or email", "dana.ruiz", "Identity explorer: blast radius")
        assert page.get_by_text("privileged target(s) reachable").is_visible()
        assert page.locator("svg.path-picture").count() == 1
        _shot(page, "04-identity-explorer.png")

        _goto(page, "Resource explorer", "Resource explorer: who can write")
        _type(page, "Search resource by name or id", "lumen-prod-invoices", "Resource explorer: who can write")
        assert page.get_by_text("can write it").is_visible()
        _shot(page, "05-resource-explorer.png")

        _goto(page, "Drift", "Drift between snapshots")
        assert page.get_by_text("New findings (2)").is_visible()
        _shot(page, "06-drift.png")

        _goto(page, "Exceptions", "Exceptions")
        assert page.get_by_text("exception(s) need action").is_visible()
        _shot(page, "07-exceptions.png")

        _goto(page, "Cypher console", "Cypher console (read-only)")
        _shot(page, "08-cypher-console.png")

        # An uploaded snapshot becomes the one on screen: last week's, without Dana's finding.
        page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(sample.older))
        _settle(page, "Cypher console (read-only)")
        assert "As of 2026-10-25T00:00:00Z" in page.get_by_test_id("stSidebar").inner_text()
        _goto(page, "Overview", "Overview")
        assert page.get_by_test_id("stMetricValue").first.inner_text() == str(
            run_analysis(read_snapshot(sample.older), None, sample.exceptions).summary()["open"])
        _shot(page, "09-uploaded-snapshot.png")
        browser.close()
    assert not problems, "\n".join(problems)
    if os.environ.get("CROSSPATH_README_IMAGES") == "1":
        for shot, image in README_IMAGES.items():
            shutil.copyfile(SHOTS / shot, ROOT / "docs" / "img" / image)
