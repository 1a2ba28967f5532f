"""What every channel has: a kind, where it sends (host only), which teams, and `send(notice)`."""

from __future__ import annotations

import ssl
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from crosspath.notify.notice import Notice
from crosspath.notify.redaction import url_host, url_secrets

DEFAULT_MAX_FINDINGS = 10  # per section, in a chat message; the rest is counted ("... and 4 more")


class Channel(ABC):
    kind: str = ""
    teams: list[str] | None = None
    always: bool = False  # send even when nothing is new, reopened or overdue

    @property
    @abstractmethod
    def destination(self) -> str:
        """Where it sends, safe to log: a host (and port), never a path, query, secret or password."""

    @abstractmethod
    def secrets(self) -> list[str]:
        """Every string that must never appear in a log line, a repr or a Delivery error."""

    @abstractmethod
    def send(self, notice: Notice) -> None:
        """Send one notice (already filtered for this channel's teams); raise DeliveryError on failure."""

    @property
    def label(self) -> str:
        """`slack hooks.slack.com`, `email smtp.example.com:587`: the channel in logs and Delivery."""
        return f"{self.kind} {self.destination}"

    def __repr__(self) -> str:
        scope = f", teams={self.teams!r}" if self.teams else ""
        always = ", always=True" if self.always else ""
        return f"{type(self).__name__}({self.label}{scope}{always})"

    __str__ = __repr__


@dataclass(repr=False)
class UrlChannel(Channel, ABC):
    """A channel that POSTs to an address, which may carry the webhook's token (Slack, Teams, webhook)."""

    url: str = field(repr=False)
    teams: list[str] | None = None
    always: bool = False
    timeout: float = 15.0
    ssl_context: ssl.SSLContext | None = None

    @property
    def destination(self) -> str:
        return url_host(self.url)

    def secrets(self) -> list[str]:
        return url_secrets(self.url)
