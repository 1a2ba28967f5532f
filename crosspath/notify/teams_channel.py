"""Microsoft Teams incoming webhook (Workflows or the older O365 connector URL): one Adaptive Card 1.4.

Payload: {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"contentUrl": null, "content": <AdaptiveCard>}]}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crosspath.notify.channel import DEFAULT_MAX_FINDINGS, UrlChannel
from crosspath.notify.http_post import post_json
from crosspath.notify.notice import SECTIONS, Notice
from crosspath.notify.rendering import SECTION_HEADINGS, caveat_line, finding_details, fix_line, more_line

ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
SEVERITY_COLOUR = {"critical": "Attention", "high": "Attention", "medium": "Warning", "low": "Default"}


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def adaptive_card(notice: Notice, max_findings: int = DEFAULT_MAX_FINDINGS) -> dict[str, Any]:
    title = f"{notice.title} — {notice.organisation}" if notice.organisation else notice.title
    counts = notice.counts
    body: list[dict[str, Any]] = [
        _text(title, size="Large", weight="Bolder"),
        _text(f"As of {notice.as_of}", isSubtle=True, spacing="None"),
        {"type": "FactSet", "facts": [
            {"title": "Open", "value": str(counts.open)}, {"title": "New", "value": str(counts.new)},
            {"title": "Reopened", "value": str(counts.reopened)}, {"title": "Overdue", "value": str(counts.overdue)},
            {"title": "Excepted", "value": str(counts.excepted)},
        ]},
    ]
    scope = caveat_line(notice)
    if scope:
        body.append(_text(scope, isSubtle=True))
    for name in SECTIONS:
        findings = notice.section(name)
        if not findings:
            continue
        items: list[dict[str, Any]] = [_text(f"{SECTION_HEADINGS[name]} ({len(findings)})", weight="Bolder",
                                             size="Medium")]
        for finding in findings[:max_findings]:
            items.append(_text(f"**{finding.severity.upper()}** {finding.id} {finding.title}",
                               color=SEVERITY_COLOUR.get(finding.severity, "Default")))
            items.append(_text(finding_details(finding), isSubtle=True, spacing="None"))
        more = more_line(len(findings) - max_findings)
        if more:
            items.append(_text(more, isSubtle=True))
        body.append({"type": "Container", "separator": True, "items": items})
    if notice.top_fixes:
        fixes = "\n".join(f"{number}. {fix_line(fix)}" for number, fix in enumerate(notice.top_fixes, 1))
        body.append({"type": "Container", "separator": True, "items": [
            _text("Top fixes", weight="Bolder", size="Medium"), _text(fixes)]})
    card: dict[str, Any] = {"$schema": ADAPTIVE_CARD_SCHEMA, "type": "AdaptiveCard", "version": "1.4",
                            "body": body, "msteams": {"width": "Full"}}
    if notice.report_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": notice.report_url}]
    return card


def teams_message(notice: Notice, max_findings: int = DEFAULT_MAX_FINDINGS) -> dict[str, Any]:
    return {"type": "message", "attachments": [
        {"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "contentUrl": None, "content": adaptive_card(notice, max_findings)}]}


@dataclass(repr=False)
class TeamsChannel(UrlChannel):
    max_findings: int = DEFAULT_MAX_FINDINGS

    kind = "teams"

    def send(self, notice: Notice) -> None:
        body = json.dumps(teams_message(notice, self.max_findings), ensure_ascii=False).encode("utf-8")
        post_json("teams", self.url, body, timeout=self.timeout, ssl_context=self.ssl_context)
