"""Send one notice to every channel: each retried on its own, one failing never stops the others.

The result is one Delivery per channel; the caller (`crosspath run`) reports every failed one and decides
the exit code. Log lines name a channel by kind and host only (`slack hooks.slack.com`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from crosspath.notify.channel import Channel
from crosspath.notify.errors import DeliveryError
from crosspath.notify.notice import Notice
from crosspath.notify.redaction import scrub

log = logging.getLogger("crosspath.notify")

DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 1.0  # seconds before the 2nd attempt; doubled before each next one (1 s, 2 s, ...)


@dataclass(frozen=True)
class Delivery:
    channel: str  # the channel's label: kind and host, never a secret
    ok: bool
    attempts: int  # 0 when skipped
    error: str | None = None  # the last attempt's error, secrets removed
    skipped: bool = False  # nothing new, reopened or overdue for this channel, and it is not `always`

    def to_dict(self) -> dict[str, object]:
        return {"channel": self.channel, "ok": self.ok, "attempts": self.attempts, "error": self.error,
                "skipped": self.skipped}


def deliver_one(channel: Channel, notice: Notice, *, attempts: int = DEFAULT_ATTEMPTS,
                backoff: float = DEFAULT_BACKOFF, sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Filter the notice for the channel's teams, skip it when there is nothing to say (unless `always`),
    else send with up to `attempts` tries, waiting backoff, 2*backoff, ... between them."""
    label = channel.label
    scoped = notice.for_teams(channel.teams)
    if not scoped.has_news and not channel.always:
        log.info("notify %s: skipped, nothing new, reopened or overdue%s", label,
                 f" for team {', '.join(scoped.teams)}" if scoped.teams else "")
        return Delivery(label, ok=True, attempts=0, skipped=True)
    secrets = channel.secrets()
    error_text = ""
    attempt = 0
    for attempt in range(1, max(1, attempts) + 1):
        try:
            channel.send(scoped)
        except Exception as error:  # noqa: BLE001 - any failure of one channel is reported, never raised
            error_text = scrub(str(error) if isinstance(error, DeliveryError)
                               else f"{type(error).__name__}: {error}", secrets)
            retry = getattr(error, "retry", True)
            if not retry or attempt >= attempts:
                log.warning("notify %s: failed after %d attempt%s: %s", label, attempt,
                            "s" if attempt != 1 else "", error_text)
                return Delivery(label, ok=False, attempts=attempt, error=error_text)
            wait = backoff * 2 ** (attempt - 1)
            log.info("notify %s: attempt %d of %d failed: %s; retrying in %.1fs", label, attempt, attempts,
                     error_text, wait)
            sleep(wait)
        else:
            log.info("notify %s: delivered (attempt %d)", label, attempt)
            return Delivery(label, ok=True, attempts=attempt)
    return Delivery(label, ok=False, attempts=attempt, error=error_text or "not sent")


def deliver(channels: Iterable[Channel], notice: Notice, *, attempts: int = DEFAULT_ATTEMPTS,
            backoff: float = DEFAULT_BACKOFF, sleep: Callable[[float], None] = time.sleep) -> list[Delivery]:
    """One Delivery per channel, in order. Never raises for a channel's failure."""
    return [deliver_one(channel, notice, attempts=attempts, backoff=backoff, sleep=sleep) for channel in channels]


def failed(deliveries: Iterable[Delivery]) -> list[Delivery]:
    """The deliveries `crosspath run` must report as failed (and may turn into a non-zero exit)."""
    return [delivery for delivery in deliveries if not delivery.ok]
