"""Notifications (crosspath/notify) against real local servers: an HTTP server that records what Slack, Teams and
the generic webhook channels POST, and an aiosmtpd SMTP server that requires STARTTLS with a certificate made
here. Nothing in the libraries is mocked."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller  # dev dependencies: a missing one fails the import, never a skip
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crosspath.notify import (
    Delivery,
    EmailChannel,
    Notice,
    NoticeCounts,
    NoticeFinding,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
    channel_from_config,
    deliver,
    failed,
)
from tests.recording_http import RecordingServer, recording_server

SLACK_SECRET_PATH = "/services/T0SECRET/B0SECRET/slackTokenSecret123"
TEAMS_SECRET_QUERY = "sig=teamsSignatureSecret456&sp=%2Ftriggers"
WEBHOOK_SECRET = "webhook-hmac-secret-789"
SMTP_PASSWORD = "smtp-password-0ab"


# --- a recording HTTP server -------------------------------------------------------------------------------


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    with recording_server() as recording:
        yield recording


# --- a local SMTP server with STARTTLS ---------------------------------------------------------------------


@dataclass
class SmtpServer:
    port: int
    cafile: Path
    envelopes: list = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost (it is its own CA)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crosspath test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _smtp_server(certificate: tuple[Path, Path] | None, cafile: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(port=free_port(), cafile=cafile)

    class Handler:
        async def handle_DATA(self, smtp, session, envelope):
            server.envelopes.append(envelope)
            return "250 OK"

    def authenticator(smtp, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode()
        password = auth_data.password.decode()
        server.logins.append((login, password))
        return AuthResult(success=password == SMTP_PASSWORD)

    options: dict = {"authenticator": authenticator, "auth_require_tls": True}
    if certificate is not None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(*certificate)
        options.update(tls_context=tls, require_starttls=True)
    controller = Controller(Handler(), hostname="127.0.0.1", port=server.port, **options)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    yield from _smtp_server(certificate, certificate[0])


@pytest.fixture
def plain_smtp_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    """No STARTTLS offered."""
    yield from _smtp_server(None, certificate[0])


# --- a notice ----------------------------------------------------------------------------------------------


def make_notice(**changes) -> Notice:
    data = {
        "title": "Crosspath", "organisation": "Contoso", "as_of": "2026-12-02T06:00:00Z",
        "counts": {"open": 12, "new": 2, "reopened": 1, "overdue": 2, "excepted": 3},
        "new": [
            {"id": "CP-aaaaaaaaaaaa", "severity": "critical", "title": "Deploy key reaches prod admin without MFA",
             "entry": "svc-deploy", "owner": "alice", "team": "platform", "days_open": 0},
            {"id": "CP-bbbbbbbbbbbb", "severity": "high", "title": "Billing bot <key> & friends",
             "entry": "billing-bot", "owner": None, "team": "payments", "days_open": None},
        ],
        "reopened": [{"id": "CP-cccccccccccc", "severity": "medium", "title": "Reopened path", "entry": "bob",
                      "owner": None, "team": None, "days_open": 1}],
        "overdue": [
            {"id": "CP-dddddddddddd", "severity": "high", "title": "Old key", "entry": "ci-runner",
             "owner": "carol", "team": "platform", "days_open": 45},
            {"id": "CP-eeeeeeeeeeee", "severity": "low", "title": "Stale access", "entry": "dave",
             "owner": None, "team": "payments", "days_open": 90},
        ],
        "top_fixes": [{"description": "Require MFA on the prod admin role", "closes": 3},
                      {"description": "Rotate the billing bot's key", "closes": 1, "team": "payments"}],
        "report_url": "https://reports.example.com/crosspath/report.html",
    }
    data.update(changes)
    return Notice.from_dict(data)


def quiet_notice() -> Notice:
    return make_notice(new=[], reopened=[], overdue=[], counts={"open": 12, "excepted": 3})


FAST = {"backoff": 0.0}


# --- Slack -------------------------------------------------------------------------------------------------


def test_slack_sends_block_kit_with_text_fallback(http_server: RecordingServer) -> None:
    channel = SlackChannel(url=http_server.base + SLACK_SECRET_PATH)
    [delivery] = deliver([channel], make_notice(), **FAST)
    assert delivery == Delivery(f"slack {http_server.base.removeprefix('http://')}", ok=True, attempts=1)
    [request] = http_server.to(SLACK_SECRET_PATH)
    payload = request.json()
    assert payload["text"] == "Crosspath — Contoso: 2 new, 1 reopened, 2 overdue"
    blocks = payload["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Crosspath — Contoso", "emoji": True}}
    counts = [field["text"] for block in blocks if block["type"] == "section" and "fields" in block
              for field in block["fields"]]
    assert counts == ["*Open*\n12", "*New*\n2", "*Reopened*\n1", "*Overdue*\n2", "*Excepted*\n3"]
    texts = "\n".join(block["text"]["text"] for block in blocks if block["type"] == "section" and "text" in block)
    assert "*New findings (2)*" in texts and "*Reopened findings (1)*" in texts and "*Overdue findings (2)*" in texts
    assert "`CP-aaaaaaaaaaaa` Deploy key reaches prod admin without MFA" in texts
    assert "entry svc-deploy · team platform (alice) · open 0 days" in texts
    assert "Billing bot &lt;key&gt; &amp; friends" in texts  # mrkdwn control characters escaped
    assert "entry bob · no owner · open 1 day" in texts
    assert "*Top fixes*\n1. Require MFA on the prod admin role (closes 3 findings)" in texts
    assert blocks[-1] == {"type": "actions", "elements": [{"type": "button", "text": {
        "type": "plain_text", "text": "Open the report"}, "url": "https://reports.example.com/crosspath/report.html"}]}
    assert len(blocks) <= 50


def test_slack_shows_at_most_max_findings_per_section(http_server: RecordingServer) -> None:
    many = [{"id": f"CP-{i:012d}", "severity": "high", "title": f"finding {i}", "entry": f"e{i}"} for i in range(30)]
    deliver([SlackChannel(url=http_server.base + SLACK_SECRET_PATH, max_findings=5)],
            make_notice(new=many, reopened=[], overdue=[]), **FAST)
    blocks = http_server.to(SLACK_SECRET_PATH)[0].json()["blocks"]
    shown = [b for b in blocks if b["type"] == "section" and "text" in b and "`CP-" in b["text"]["text"]]
    assert len(shown) == 5
    assert {"type": "context", "elements": [{"type": "mrkdwn", "text": "… and 25 more"}]} in blocks


# --- Teams -------------------------------------------------------------------------------------------------


def test_teams_posts_an_adaptive_card_message(http_server: RecordingServer) -> None:
    url = f"{http_server.base}/workflows/abc/triggers/manual/paths/invoke?{TEAMS_SECRET_QUERY}"
    [delivery] = deliver([TeamsChannel(url=url)], make_notice(), **FAST)
    assert delivery.ok and delivery.attempts == 1
    [request] = http_server.requests
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.path.endswith(TEAMS_SECRET_QUERY)
    message = request.json()
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"][0] == {"type": "TextBlock", "text": "Crosspath — Contoso", "wrap": True, "size": "Large",
                               "weight": "Bolder"}
    [facts] = [item for item in card["body"] if item["type"] == "FactSet"]
    assert {fact["title"]: fact["value"] for fact in facts["facts"]} == {
        "Open": "12", "New": "2", "Reopened": "1", "Overdue": "2", "Excepted": "3"}
    containers = [item for item in card["body"] if item["type"] == "Container"]
    headings = [container["items"][0]["text"] for container in containers]
    assert headings == ["New findings (2)", "Reopened findings (1)", "Overdue findings (2)", "Top fixes"]
    texts = [item["text"] for container in containers for item in container["items"]]
    assert "**CRITICAL** CP-aaaaaaaaaaaa Deploy key reaches prod admin without MFA" in texts
    assert "entry ci-runner · team platform (carol) · open 45 days" in texts
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open the report",
                                "url": "https://reports.example.com/crosspath/report.html"}]


# --- generic webhook ---------------------------------------------------------------------------------------


def test_webhook_posts_the_notice_json_with_a_verifiable_signature(http_server: RecordingServer) -> None:
    channel = WebhookChannel(url=http_server.base + "/crosspath", secret=WEBHOOK_SECRET)
    [delivery] = deliver([channel], make_notice(), **FAST)
    assert delivery.ok
    [request] = http_server.to("/crosspath")
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Crosspath-Signature"], expected)
    timestamp = int(request.headers["X-Crosspath-Timestamp"])
    body = request.json()
    assert body["sent_at"] == dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["format"] == "crosspath-notice" and body["version"] == 1
    assert body["counts"] == {"open": 12, "new": 2, "reopened": 1, "overdue": 2, "excepted": 3}
    assert body["announced"] == {"new": 2, "reopened": 1, "overdue": 2}
    assert body["new"][0] == {"id": "CP-aaaaaaaaaaaa", "severity": "critical",
                              "title": "Deploy key reaches prod admin without MFA", "entry": "svc-deploy",
                              "owner": "alice", "team": "platform", "days_open": 0}
    assert body["teams"] is None and body["report_url"].endswith("/report.html")
    assert Notice.from_dict(body) == make_notice()  # the JSON reads back into the same notice
    tampered = request.body.replace(b'"open":12', b'"open":13')
    assert hmac.new(WEBHOOK_SECRET.encode(), tampered, hashlib.sha256).hexdigest() != expected[7:]


def test_webhook_without_secret_sends_no_signature(http_server: RecordingServer) -> None:
    deliver([WebhookChannel(url=http_server.base + "/plain")], make_notice(), **FAST)
    [request] = http_server.to("/plain")
    assert "X-Crosspath-Signature" not in request.headers and "X-Crosspath-Timestamp" in request.headers


# --- per-team filtering and `always` -----------------------------------------------------------------------


def test_team_channel_gets_only_its_teams_findings_and_says_so(http_server: RecordingServer) -> None:
    deliver([WebhookChannel(url=http_server.base + "/platform", teams=["platform"]),
             SlackChannel(url=http_server.base + "/slack-platform", teams=["platform"])], make_notice(), **FAST)
    body = http_server.to("/platform")[0].json()
    assert body["teams"] == ["platform"]
    assert [f["id"] for f in body["new"]] == ["CP-aaaaaaaaaaaa"]
    assert body["reopened"] == []  # the reopened finding has no team: nobody's channel-by-team gets it
    assert [f["id"] for f in body["overdue"]] == ["CP-dddddddddddd"]
    assert body["announced"] == {"new": 1, "reopened": 0, "overdue": 1}
    assert body["counts"]["new"] == 2  # counts stay the whole run's
    assert body["top_fixes"] == []  # a fix without a team is only in unfiltered notices
    slack = http_server.to("/slack-platform")[0].json()
    assert "[platform]" in slack["text"]
    context = [e["text"] for b in slack["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert any(text.startswith("Only findings owned by team platform: 1 new, 0 reopened, 1 overdue")
               for text in context)
    assert "CP-bbbbbbbbbbbb" not in json.dumps(slack)


def test_nothing_is_sent_without_news_unless_always(http_server: RecordingServer) -> None:
    quiet = WebhookChannel(url=http_server.base + "/quiet")
    loud = WebhookChannel(url=http_server.base + "/always", always=True)
    other_team = WebhookChannel(url=http_server.base + "/nobody", teams=["no-such-team"])
    deliveries = deliver([quiet, loud, other_team], quiet_notice(), **FAST)
    assert [(d.ok, d.skipped, d.attempts) for d in deliveries] == [(True, True, 0), (True, False, 1), (True, True, 0)]
    assert [r.path for r in http_server.requests] == ["/always"]
    assert http_server.to("/always")[0].json()["announced"] == {"new": 0, "reopened": 0, "overdue": 0}
    # a team with nothing of its own is skipped even when the run has news
    [delivery] = deliver([other_team], make_notice(), **FAST)
    assert delivery.skipped and not http_server.to("/nobody")


# --- email -------------------------------------------------------------------------------------------------


def test_email_over_starttls_with_text_and_html_parts(smtp_server: SmtpServer) -> None:
    channel = EmailChannel(host="127.0.0.1", port=smtp_server.port, sender="crosspath@example.com",
                           to=["secops@example.com", "platform@example.com"], username="crosspath",
                           password=SMTP_PASSWORD, cafile=str(smtp_server.cafile))
    [delivery] = deliver([channel], make_notice(), **FAST)
    assert delivery == Delivery(f"email 127.0.0.1:{smtp_server.port}", ok=True, attempts=1), delivery
    assert smtp_server.logins == [("crosspath", SMTP_PASSWORD)]  # AUTH only accepted over TLS (auth_require_tls)
    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == "crosspath@example.com"
    assert envelope.rcpt_tos == ["secops@example.com", "platform@example.com"]
    message = message_from_bytes(envelope.original_content, policy=policy.default)
    assert message["Subject"] == "Crosspath — Contoso: 2 new, 1 reopened, 2 overdue"
    assert message["To"] == "secops@example.com, platform@example.com"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "12 open · 2 new · 1 reopened · 2 overdue · 3 excepted" in text
    assert "  - [CRITICAL] CP-aaaaaaaaaaaa Deploy key reaches prod admin without MFA — entry svc-deploy" in text
    assert "Report: https://reports.example.com/crosspath/report.html" in text
    assert "<h2>New findings (2)</h2>" in html and "Billing bot &lt;key&gt; &amp; friends" in html
    assert '<a href="https://reports.example.com/crosspath/report.html">Open the report</a>' in html


def test_email_configured_through_channel_from_config(smtp_server: SmtpServer) -> None:
    channel = channel_from_config({"kind": "email", "host": "127.0.0.1", "port": smtp_server.port,
                                   "from": "crosspath@example.com", "to": ["secops@example.com"],
                                   "cafile": str(smtp_server.cafile), "teams": ["payments"]})
    [delivery] = deliver([channel], make_notice(), **FAST)
    assert delivery.ok
    message = message_from_bytes(smtp_server.envelopes[0].original_content, policy=policy.default)
    assert message["Subject"] == "Crosspath — Contoso [payments]: 1 new, 1 overdue"
    assert "Rotate the billing bot's key (closes 1 finding)" in message.get_body(("plain",)).get_content()


def test_email_refuses_a_server_without_starttls(plain_smtp_server: SmtpServer, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    channel = EmailChannel(host="127.0.0.1", port=plain_smtp_server.port, sender="crosspath@example.com",
                           to=["secops@example.com"], username="crosspath", password=SMTP_PASSWORD,
                           cafile=str(plain_smtp_server.cafile))
    [delivery] = deliver([channel], make_notice(), **FAST)
    assert not delivery.ok and delivery.attempts == 1  # a refusal is not retried
    assert delivery.error == (f"email 127.0.0.1:{plain_smtp_server.port} does not offer STARTTLS: refusing to send "
                              "the message and the password over an unencrypted connection")
    assert plain_smtp_server.envelopes == [] and plain_smtp_server.logins == []
    assert SMTP_PASSWORD not in caplog.text and "does not offer STARTTLS" in caplog.text


def test_email_refuses_a_certificate_it_does_not_trust(smtp_server: SmtpServer) -> None:
    channel = EmailChannel(host="127.0.0.1", port=smtp_server.port, sender="crosspath@example.com",
                           to=["secops@example.com"], password=SMTP_PASSWORD, username="crosspath")  # system CAs
    [delivery] = deliver([channel], make_notice(), **FAST)
    assert not delivery.ok and delivery.attempts == 1
    assert "the STARTTLS upgrade failed" in delivery.error and "nothing was sent" in delivery.error
    assert smtp_server.envelopes == [] and smtp_server.logins == []


# --- retries, failures and secrets -------------------------------------------------------------------------


def test_two_server_errors_then_success_is_delivered_on_attempt_3(http_server: RecordingServer) -> None:
    http_server.script["/flaky"] = [500, 500, 200]
    http_server.script[SLACK_SECRET_PATH] = [503, 500, 200]
    waits: list[float] = []
    deliveries = deliver([WebhookChannel(url=http_server.base + "/flaky", secret=WEBHOOK_SECRET),
                          SlackChannel(url=http_server.base + SLACK_SECRET_PATH)],
                         make_notice(), attempts=3, backoff=0.01, sleep=waits.append)
    assert [(d.ok, d.attempts, d.error) for d in deliveries] == [(True, 3, None), (True, 3, None)]
    assert len(http_server.to("/flaky")) == 3 and len(http_server.to(SLACK_SECRET_PATH)) == 3
    assert waits == [0.01, 0.02, 0.01, 0.02]  # exponential backoff
    bodies = [request.body for request in http_server.to("/flaky")]
    signatures = [request.headers["X-Crosspath-Signature"] for request in http_server.to("/flaky")]
    assert all(hmac.compare_digest(sig, "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest())
               for body, sig in zip(bodies, signatures, strict=True))


def test_a_failing_channel_never_stops_the_others_and_no_secret_is_logged(
        http_server: RecordingServer, smtp_server: SmtpServer, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # everything, slack_sdk's own debug lines included
    http_server.script[SLACK_SECRET_PATH] = [500]
    teams_url = f"{http_server.base}/teams/hook?{TEAMS_SECRET_QUERY}"
    channels = [
        SlackChannel(url=http_server.base + SLACK_SECRET_PATH),  # always 500
        TeamsChannel(url=teams_url),
        WebhookChannel(url=http_server.base + "/hook", secret=WEBHOOK_SECRET),
        WebhookChannel(url=f"http://127.0.0.1:{free_port()}/refused/{WEBHOOK_SECRET}", secret=WEBHOOK_SECRET),
        EmailChannel(host="127.0.0.1", port=smtp_server.port, sender="crosspath@example.com",
                     to=["secops@example.com"], username="crosspath", password=SMTP_PASSWORD,
                     cafile=str(smtp_server.cafile)),
    ]
    deliveries = deliver(channels, make_notice(), **FAST)
    assert [(d.ok, d.attempts) for d in deliveries] == [(False, 3), (True, 1), (True, 1), (False, 3), (True, 1)]
    assert deliveries[0].error == "slack answered HTTP 500: server trouble"
    assert deliveries[3].error.startswith("webhook: cannot connect")
    assert failed(deliveries) == [deliveries[0], deliveries[3]]
    assert len(http_server.to(SLACK_SECRET_PATH)) == 3
    assert len(smtp_server.envelopes) == 1
    host = http_server.base.removeprefix("http://")
    assert f"notify slack {host}: failed after 3 attempts: slack answered HTTP 500" in caplog.text
    assert f"notify email 127.0.0.1:{smtp_server.port}: delivered (attempt 1)" in caplog.text
    secrets = ["T0SECRET", "slackTokenSecret123", SLACK_SECRET_PATH, "teamsSignatureSecret456", TEAMS_SECRET_QUERY,
               WEBHOOK_SECRET, SMTP_PASSWORD, "/hook", "/refused"]
    said = caplog.text + "".join(repr(c) + str(c) for c in channels) + "".join(repr(d) for d in deliveries)
    for secret in secrets:
        assert secret not in said, secret


def test_an_unusable_url_fails_without_echoing_it() -> None:
    channel = WebhookChannel(url="ftp://hooks.example.com/secretpath123", secret=WEBHOOK_SECRET)
    [delivery] = deliver([channel], make_notice(), **FAST)
    assert not delivery.ok and delivery.attempts == 1
    assert delivery.error == "webhook: the configured URL is not http(s)"
    assert repr(channel) == "WebhookChannel(webhook hooks.example.com)"


def test_reprs_name_kind_and_host_only() -> None:
    slack = SlackChannel(url="https://hooks.slack.com/services/T0/B0/xyzSECRET", teams=["platform"])
    teams = TeamsChannel(url="https://prod.westeurope.logic.azure.com:443/workflows/1/invoke?sig=SIGSECRET")
    webhook = WebhookChannel(url="https://hooks.example.com/crosspath?token=TOKSECRET", secret="HMACSECRET")
    email = EmailChannel(host="smtp.example.com", port=587, sender="a@example.com", to=["b@example.com"],
                         username="user", password="PWSECRET", always=True)
    assert [str(c) for c in (slack, teams, webhook, email)] == [
        "SlackChannel(slack hooks.slack.com, teams=['platform'])",
        "TeamsChannel(teams prod.westeurope.logic.azure.com:443)",
        "WebhookChannel(webhook hooks.example.com)",
        "EmailChannel(email smtp.example.com:587, always=True)",
    ]
    assert [c.label for c in (slack, email)] == ["slack hooks.slack.com", "email smtp.example.com:587"]


def test_channel_from_config_refuses_unknown_kinds_and_keys_without_values() -> None:
    with pytest.raises(ValueError, match="unknown kind 'pager'"):
        channel_from_config({"kind": "pager", "url": "https://x.example.com/SECRET"})
    with pytest.raises(ValueError, match=r"^notifications \(slack\): unknown key\(s\) token$"):
        channel_from_config({"kind": "slack", "url": "https://hooks.slack.com/SECRET", "token": "SECRET"})
    with pytest.raises(ValueError, match=r"missing url"):
        channel_from_config({"kind": "teams"})
    slack = channel_from_config({"kind": "slack", "url": "https://hooks.slack.com/x", "teams": ["platform"],
                                 "always": True, "max_findings": 3})
    assert isinstance(slack, SlackChannel) and slack.teams == ["platform"] and slack.always and slack.max_findings == 3


def test_notice_from_finding() -> None:
    from queries.findings import Finding

    finding = Finding(id="CP-123456789abc", gap_types=["NO_MFA"], severity="high", title="t",
                      entry={"id": "aws:user/x", "name": "x"}, target={}, targets_count=1, providers=["aws"], path=[])
    assert NoticeFinding.from_finding(finding, team="platform", days_open=4) == NoticeFinding(
        "CP-123456789abc", "high", "t", "x", None, "platform", 4)
    assert NoticeCounts().to_dict() == {"open": 0, "new": 0, "reopened": 0, "overdue": 0, "excepted": 0}


def test_the_documented_signature_check_accepts_a_real_request_and_refuses_a_changed_one(
        http_server: RecordingServer) -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "notifications.md").read_text()
    example = doc.split("<!-- signature-example:", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(example, "docs/notifications.md", "exec"), namespace)  # noqa: S102 - our own documentation
    check = namespace["verify_crosspath_request"]
    deliver([WebhookChannel(url=http_server.base + "/signed", secret=WEBHOOK_SECRET)], make_notice(), **FAST)
    [request] = http_server.to("/signed")
    assert check(WEBHOOK_SECRET, request.body, request.headers)["counts"]["open"] == 12
    with pytest.raises(ValueError, match="bad signature"):
        check(WEBHOOK_SECRET, request.body.replace(b'"open":12', b'"open":13'), request.headers)
    with pytest.raises(ValueError, match="bad signature"):
        check("another secret", request.body, request.headers)
    with pytest.raises(ValueError, match="too old"):
        check(WEBHOOK_SECRET, request.body, request.headers, max_age=-1)


def test_scrubbing_removes_url_credentials_but_keeps_plain_words() -> None:
    from crosspath.notify.redaction import scrub, url_secrets

    url = "https://hooks.slack.com/services/T0AB12CD/B0EF34GH/abcdefghijklmnopqrstuvwx"
    text = scrub(f"POST {url} failed; token abcdefghijklmnopqrstuvwx for T0AB12CD; no such services", url_secrets(url))
    assert text == "POST *** failed; token *** for ***; no such services"


def test_a_notice_with_coverage_problems_is_sent_and_says_so_first():
    notice = Notice(title="Crosspath", organisation="Contoso", as_of="2026-11-01T00:00:00Z",
                    coverage=["gcp: not covered (no gcp/ folder)"])
    assert notice.has_news  # quiet, but not clean: it is sent
    payload = json.dumps(SlackChannel(url="https://hooks.slack.com/services/T/B/x").payload(notice))
    assert "coverage incomplete" in payload and "Not everything was read" in payload
    assert "gcp: not covered" in payload
