"""Email over SMTP, STARTTLS always: plain text with an HTML alternative.

The channel never sends anything, password or message, over a connection that did not upgrade to TLS:
a server that does not offer STARTTLS, or an upgrade that fails, is a refusal (not retried).
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from crosspath.notify.channel import Channel
from crosspath.notify.errors import DeliveryError, PermanentDeliveryError
from crosspath.notify.notice import SECTIONS, Notice
from crosspath.notify.rendering import (
    SECTION_HEADINGS,
    caveat_line,
    counts_line,
    finding_details,
    finding_line,
    fix_line,
    headline,
    more_line,
)

DEFAULT_EMAIL_MAX_FINDINGS = 50


def email_text(notice: Notice, max_findings: int = DEFAULT_EMAIL_MAX_FINDINGS) -> str:
    lines = [headline(notice), f"As of {notice.as_of}", "", counts_line(notice)]
    scope = caveat_line(notice)
    if scope:
        lines.append(scope)
    for name in SECTIONS:
        findings = notice.section(name)
        if findings:
            lines += ["", f"{SECTION_HEADINGS[name]} ({len(findings)})"]
            lines += [f"  - {finding_line(finding)}" for finding in findings[:max_findings]]
            more = more_line(len(findings) - max_findings)
            if more:
                lines.append(f"  {more}")
    if notice.top_fixes:
        lines += ["", "Top fixes"] + [f"  {n}. {fix_line(fix)}" for n, fix in enumerate(notice.top_fixes, 1)]
    if notice.report_url:
        lines += ["", f"Report: {notice.report_url}"]
    return "\n".join(lines) + "\n"


def email_html(notice: Notice, max_findings: int = DEFAULT_EMAIL_MAX_FINDINGS) -> str:
    e = html.escape
    title = f"{notice.title} — {notice.organisation}" if notice.organisation else notice.title
    parts = [f"<html><body><h1>{e(title)}</h1>", f"<p>As of {e(notice.as_of)}</p>",
             f"<p><strong>{e(counts_line(notice))}</strong></p>"]
    scope = caveat_line(notice)
    if scope:
        parts.append(f"<p><em>{e(scope)}</em></p>")
    for name in SECTIONS:
        findings = notice.section(name)
        if not findings:
            continue
        parts.append(f"<h2>{e(SECTION_HEADINGS[name])} ({len(findings)})</h2><table>"
                     "<tr><th>Severity</th><th>Finding</th><th>Title</th><th>Details</th></tr>")
        for finding in findings[:max_findings]:
            parts.append(f"<tr><td>{e(finding.severity.upper())}</td><td><code>{e(finding.id)}</code></td>"
                         f"<td>{e(finding.title)}</td><td>{e(finding_details(finding))}</td></tr>")
        parts.append("</table>")
        more = more_line(len(findings) - max_findings)
        if more:
            parts.append(f"<p>{e(more)}</p>")
    if notice.top_fixes:
        parts.append("<h2>Top fixes</h2><ol>" + "".join(f"<li>{e(fix_line(fix))}</li>" for fix in notice.top_fixes)
                     + "</ol>")
    if notice.report_url:
        parts.append(f'<p><a href="{e(notice.report_url, quote=True)}">Open the report</a></p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


@dataclass(repr=False)
class EmailChannel(Channel):
    host: str
    sender: str  # the config's `from`
    to: list[str]
    port: int = 587
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    teams: list[str] | None = None
    always: bool = False
    max_findings: int = DEFAULT_EMAIL_MAX_FINDINGS
    timeout: float = 30.0
    cafile: str | None = None  # trust this CA bundle instead of the system's (a private relay)
    ssl_context: ssl.SSLContext | None = None  # or a ready context (overrides cafile)

    kind = "email"

    @property
    def destination(self) -> str:
        return f"{self.host}:{self.port}"

    def secrets(self) -> list[str]:
        return [self.password] if self.password else []

    def tls_context(self) -> ssl.SSLContext:
        if self.ssl_context is not None:
            return self.ssl_context
        return ssl.create_default_context(cafile=self.cafile)  # verifies the certificate and the host name

    def message(self, notice: Notice) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = " ".join(headline(notice).split())  # one line, whatever the title holds
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(email_text(notice, self.max_findings))
        message.add_alternative(email_html(notice, self.max_findings), subtype="html")
        return message

    def send(self, notice: Notice) -> None:
        if not self.to:
            raise PermanentDeliveryError("email: no recipients (`to` is empty)")
        message = self.message(notice)
        where = f"email {self.destination}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise PermanentDeliveryError(
                        f"{where} does not offer STARTTLS: refusing to send the message"
                        f"{' and the password' if self.password else ''} over an unencrypted connection")
                try:
                    smtp.starttls(context=self.tls_context())
                except ssl.SSLError as error:
                    raise PermanentDeliveryError(f"{where}: the STARTTLS upgrade failed ({error.reason or error}); "
                                                 "nothing was sent") from None
                if not isinstance(smtp.sock, ssl.SSLSocket):  # belt and braces: never continue in clear text
                    raise PermanentDeliveryError(f"{where}: the connection did not upgrade to TLS; nothing was sent")
                smtp.ehlo()
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                smtp.send_message(message, from_addr=self.sender, to_addrs=list(self.to))
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as error:
            raise PermanentDeliveryError(f"{where}: login refused (SMTP {error.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentDeliveryError(f"{where}: recipients refused: {', '.join(sorted(error.recipients))}") from None
        except smtplib.SMTPResponseException as error:
            problem = DeliveryError if error.smtp_code >= 400 and error.smtp_code < 500 else PermanentDeliveryError
            raise problem(f"{where}: SMTP {error.smtp_code}: {_reply_text(error.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"{where}: {type(error).__name__}: {error}") from None


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:200]
