"""Slack incoming webhook: a Block Kit message sent with slack_sdk's WebhookClient.

Header, the run's counts, up to `max_findings` findings per section, the top fixes and a report button;
`text` is the fallback notifications and screen readers show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.webhook import WebhookClient

from crosspath.notify.channel import DEFAULT_MAX_FINDINGS, UrlChannel
from crosspath.notify.errors import DeliveryError
from crosspath.notify.http_post import status_error
from crosspath.notify.notice import SECTIONS, Notice
from crosspath.notify.rendering import (
    SECTION_HEADINGS,
    caveat_line,
    finding_details,
    fix_line,
    headline,
    more_line,
)

SEVERITY_EMOJI = {"critical": ":red_circle:", "high": ":large_orange_circle:", "medium": ":large_yellow_circle:",
                  "low": ":white_circle:"}
MAX_BLOCKS = 50  # Slack's limit per message
HEADER_LIMIT = 150  # characters in a header block
TEXT_LIMIT = 3000  # characters in a section's text


def _quiet_sdk_logger() -> logging.Logger:
    """slack_sdk logs the full webhook URL (debug, info on retries, error on failures): give it a logger that
    reaches no handler, so the URL never reaches a log."""
    sdk_logger = logging.getLogger("crosspath.notify.slack_sdk_silenced")
    sdk_logger.propagate = False
    sdk_logger.disabled = True
    if not sdk_logger.handlers:
        sdk_logger.addHandler(logging.NullHandler())
    return sdk_logger


def escape(text: str) -> str:
    """Slack mrkdwn: &, < and > are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:TEXT_LIMIT]}


def slack_blocks(notice: Notice, max_findings: int = DEFAULT_MAX_FINDINGS) -> list[dict[str, Any]]:
    title = f"{notice.title} — {notice.organisation}" if notice.organisation else notice.title
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:HEADER_LIMIT], "emoji": True}},
        {"type": "context", "elements": [_mrkdwn(f"As of {escape(notice.as_of)}")]},
        {"type": "section", "fields": [
            _mrkdwn(f"*Open*\n{notice.counts.open}"), _mrkdwn(f"*New*\n{notice.counts.new}"),
            _mrkdwn(f"*Reopened*\n{notice.counts.reopened}"), _mrkdwn(f"*Overdue*\n{notice.counts.overdue}"),
            _mrkdwn(f"*Excepted*\n{notice.counts.excepted}"),
        ]},
    ]
    scope = caveat_line(notice)
    if scope:
        blocks.append({"type": "context", "elements": [_mrkdwn(escape(scope))]})
    for name in SECTIONS:
        findings = notice.section(name)
        if not findings:
            continue
        blocks.append({"type": "divider"})
        blocks.append({"type": "section", "text": _mrkdwn(f"*{SECTION_HEADINGS[name]} ({len(findings)})*")})
        for finding in findings[:max_findings]:
            emoji = SEVERITY_EMOJI.get(finding.severity, ":white_circle:")
            blocks.append({"type": "section", "text": _mrkdwn(
                f"{emoji} *{escape(finding.severity.upper())}* `{escape(finding.id)}` {escape(finding.title)}\n"
                f"{escape(finding_details(finding))}")})
        more = more_line(len(findings) - max_findings)
        if more:
            blocks.append({"type": "context", "elements": [_mrkdwn(more)]})
    if notice.top_fixes:
        blocks.append({"type": "divider"})
        fixes = "\n".join(f"{number}. {escape(fix_line(fix))}" for number, fix in enumerate(notice.top_fixes, 1))
        blocks.append({"type": "section", "text": _mrkdwn(f"*Top fixes*\n{fixes}")})
    if notice.report_url:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the report"}, "url": notice.report_url}]})
    if len(blocks) > MAX_BLOCKS:  # keep the header and the end (fixes, link), cut findings in the middle
        tail = 3 if notice.report_url else 2
        blocks = blocks[: MAX_BLOCKS - tail - 1] + [
            {"type": "context", "elements": [_mrkdwn("… more findings in the report")]}] + blocks[-tail:]
    return blocks


@dataclass(repr=False)
class SlackChannel(UrlChannel):
    max_findings: int = DEFAULT_MAX_FINDINGS

    kind = "slack"

    def payload(self, notice: Notice) -> dict[str, Any]:
        return {"text": headline(notice), "blocks": slack_blocks(notice, self.max_findings)}

    def send(self, notice: Notice) -> None:
        client = WebhookClient(self.url, timeout=int(max(1, self.timeout)), ssl=self.ssl_context,
                               logger=_quiet_sdk_logger(), retry_handlers=[])  # deliver() does the retries
        payload = self.payload(notice)
        try:
            response = client.send(text=payload["text"], blocks=payload["blocks"])
        except Exception as error:  # noqa: BLE001 - the SDK raises urllib's errors as they come
            raise DeliveryError(f"slack: cannot send: {type(error).__name__}: {error}") from None
        if response.status_code != 200:
            raise status_error("slack", response.status_code, response.body or "")
