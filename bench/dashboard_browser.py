"""Dashboard page render times as a user sees them: Chromium (Playwright) against `streamlit run`.

    python bench/dashboard_browser.py --snapshots bench/out/dashboard-100000

Each figure is the time from the click in the sidebar until the page's heading is on screen and
Streamlit's status widget has stayed away for a second (that second is not counted); the first visit to the app includes reading and analysing the
snapshot. Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PAGES = [("Findings", "Findings"), ("Path view", "Path view"),
         ("Identity explorer", "Identity explorer: blast radius"),
         ("Resource explorer", "Resource explorer: who can write"), ("Drift", "Drift between snapshots"),
         ("Exceptions", "Exceptions"), ("Cypher console", "Cypher console (read-only)"), ("Overview", "Overview")]


def _settle(page, heading: str, timeout_s: float, started: float) -> float:
    """Seconds from `started` until the page is done: its heading is on screen and Streamlit's
    status widget ("Running…", shown from about half a second into a run) has stayed away for 1 s."""
    busy_until = time.perf_counter()
    while time.perf_counter() - busy_until < 1.0:
        if time.perf_counter() - started > timeout_s:
            raise SystemExit(f"{heading}: not rendered after {timeout_s} s")
        busy = page.locator('[data-testid="stStatusWidget"]').count() > 0
        if busy or page.get_by_role("heading", name=heading, exact=True).count() == 0:
            busy_until = time.perf_counter()
        page.wait_for_timeout(50)
    return busy_until - started


def _start(snapshots: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--", "--snapshots", str(snapshots)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(180):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("streamlit did not start")


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=Path, default=ROOT / "bench" / "out" / "dashboard-100000")
    parser.add_argument("--rounds", type=int, default=2, help="visits of every page after the first load")
    args = parser.parse_args(argv)
    process, url = _start(args.snapshots)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1200})
            started = time.perf_counter()
            page.goto(url)
            elapsed = _settle(page, "Overview", 900, started)
            print(f"{'first load (read + analyse + Overview)':<40} {elapsed:7.2f} s", flush=True)
            worst: dict[str, float] = {}
            for round_no in range(args.rounds + 1):
                for name, heading in PAGES:
                    started = time.perf_counter()
                    page.get_by_test_id("stSidebar").get_by_text(name, exact=True).click()
                    elapsed = _settle(page, heading, 900, started)
                    label = f"{name} ({'first visit' if round_no == 0 else f'visit {round_no + 1}'})"
                    print(f"{label:<40} {elapsed:7.2f} s", flush=True)
                    if round_no:
                        worst[name] = max(worst.get(name, 0.0), elapsed)
            browser.close()
        print("slowest repeat visit per page: " + ", ".join(f"{k} {v:.2f} s" for k, v in worst.items()))
    finally:
        process.terminate()
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
