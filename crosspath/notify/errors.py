"""Why a send failed: worth another attempt, or not (a refusal, a 4xx)."""

from __future__ import annotations


class DeliveryError(Exception):
    """A send failed; another attempt may succeed (network error, 5xx, 429). The message holds no secret."""

    retry = True


class PermanentDeliveryError(DeliveryError):
    """A send that another attempt would not fix: refused (no STARTTLS), rejected (4xx), misconfigured."""

    retry = False
