"""Notifications (issue 18): one run's notice sent to Slack, Microsoft Teams, a generic webhook or email.

    notice = Notice(title="Crosspath", organisation="Contoso", as_of=..., counts=NoticeCounts(...), new=[...])
    deliveries = deliver([SlackChannel(url=...), EmailChannel(host=..., sender=..., to=[...])], notice)

docs/notifications.md describes each channel's config and payload, the retries and what is never logged.
"""

from crosspath.notify.channel import Channel
from crosspath.notify.channel_config import channel_from_config
from crosspath.notify.delivery import Delivery, deliver, deliver_one, failed
from crosspath.notify.email_channel import EmailChannel
from crosspath.notify.errors import DeliveryError, PermanentDeliveryError
from crosspath.notify.notice import Notice, NoticeCounts, NoticeFinding
from crosspath.notify.slack_channel import SlackChannel
from crosspath.notify.teams_channel import TeamsChannel
from crosspath.notify.webhook_channel import WebhookChannel, sign, verify

__all__ = [
    "Channel", "Delivery", "DeliveryError", "EmailChannel", "Notice", "NoticeCounts", "NoticeFinding",
    "PermanentDeliveryError", "SlackChannel", "TeamsChannel", "WebhookChannel", "channel_from_config", "deliver",
    "deliver_one", "failed", "sign", "verify",
]
