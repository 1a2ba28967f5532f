"""report.html: self-contained, well-formed, escaped, with a picture per top path."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from html.parser import HTMLParser

import pytest

from queries.reports import write_reports
from queries.reports.describe import TOP_PICTURES
from tests.reports.builders import SCRIPT_NAME, make_analysis, no_mfa_cross_stack

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class StructureChecker(HTMLParser):
    """Counts tags and attributes and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
        else:
            self.stack.pop()


def check(text: str) -> StructureChecker:
    checker = StructureChecker()
    checker.feed(text)
    checker.close()
    assert checker.problems == [] and checker.stack == []
    return checker


@pytest.fixture
def page(analysis, tmp_path) -> str:
    return write_reports(analysis, tmp_path, formats=["html"])["html"].read_text(encoding="utf-8")


def test_html_is_well_formed_self_contained_and_has_a_picture_per_top_path(analysis, page):
    checker = check(page)
    assert "script" not in checker.tags
    assert not [name for name, _ in checker.attributes if name.startswith("on")]
    assert not [value for name, value in checker.attributes if name in ("src", "href") and value]
    assert "<link" not in page and "@import" not in page and "url(" not in page
    open_ids = [f.id for f in analysis.open_findings]
    assert checker.tags.count("svg") == len(open_ids)
    for finding_id in open_ids:
        article = page.split(f'id="{finding_id}"', 1)[1].split("</article>", 1)[0]
        assert "<svg" in article


def test_html_escapes_customer_text_everywhere(page):
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(" in page
    assert SCRIPT_NAME not in page


def test_html_states_coverage_and_lists_findings_and_exceptions(analysis, page):
    assert "gcp: not covered (no gcp/ folder in data/samples)" in page
    assert "Partial coverage." in page
    assert "kubernetes/aks-prod.json" in page
    findings, excepted = page.split('id="excepted"')
    assert "dana.ruiz@lumenfreight.com —MEMBER_OF [group membership AWS-Prod-Deployers] → AWS-Prod-Deployers" in findings
    assert "and 2 more privileged targets" in findings
    assert "Enforce MFA for dana.ruiz@lumenfreight.com" in findings
    assert "breakglass" not in findings
    assert "it-security" in excepted and "Emergency access account" in excepted and "2027-06-30" in excepted


def test_html_draws_pictures_for_the_top_twenty_open_findings_only(tmp_path):
    base = no_mfa_cross_stack()
    many = [dataclasses.replace(base, id=f"CP-{i:012x}", title=f"finding {i}") for i in range(TOP_PICTURES + 5)]
    page = write_reports(make_analysis(many), tmp_path, formats=["html"])["html"].read_text(encoding="utf-8")
    checker = check(page)
    assert checker.tags.count("svg") == TOP_PICTURES == 20
    assert checker.tags.count("article") == 25
    assert "Path pictures are drawn for the top 20 findings" in page


def test_attribute_injection_in_a_title_stays_text(tmp_path):
    finding = dataclasses.replace(no_mfa_cross_stack(), title='x" onload="alert(1)')
    page = write_reports(make_analysis([finding]), tmp_path, formats=["html"])["html"].read_text(encoding="utf-8")
    checker = check(page)
    assert not [name for name, _ in checker.attributes if name.startswith("on")]


def test_a_real_browser_renders_the_findings(analysis, tmp_path, chromium):
    html_path = write_reports(analysis, tmp_path, formats=["html"])["html"]
    binary = str(chromium)
    result = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--dump-dom", html_path.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )
    dom = result.stdout
    for finding in analysis.findings:
        assert finding.id in dom
    assert len(re.findall(r"<svg\b", dom)) == len(analysis.open_findings)
    assert "gcp: not covered (no gcp/ folder in data/samples)" in dom
    assert "<script" not in dom.lower()
    assert "&lt;script&gt;alert(" in dom
