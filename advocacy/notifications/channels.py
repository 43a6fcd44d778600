"""Where people hear about talking points aimed at them: the contract every notification channel meets.

A channel (e-mail, Slack DM, Teams card, Web Push) is registered once by name and asked to announce a batch of
talking points to one person. The announcement service (``advocacy.notifications.announcing``) decides who hears
about what, on which channel and when (the person's choice, frequency and quiet hours), records each announcement
once, and calls ``announce`` from a background job. A channel only formats and sends.

Every button a channel shows opens (or, in Slack, calls back to) the same domain service the web uses
(``delivery.services.create_share`` with ``channel=<its name>``): screening, targeting, availability window, one live
share per account and the policy acknowledgement are checked there, never in the channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from advocacy.content.models import TalkingPoint
    from advocacy.people.models import User

# the channels a person may choose, in the order the preferences page lists them
CHANNEL_NAMES = ("slack", "teams", "email", "push")


class RetryLater(Exception):
    """The service answered 429 or 5xx: try the same announcement again after ``seconds`` (its Retry-After)."""

    def __init__(self, seconds: float, message: str = "") -> None:
        super().__init__(message or f"retry in {seconds:g} s")
        self.seconds = seconds


class Unreachable(Exception):
    """The person cannot be reached on this channel any more (left Slack, push subscription gone, bad address).

    The announcement is recorded as not delivered with this message; nothing else is lost, and the channel is not
    tried again for the person until they set it up again.
    """


@dataclass(frozen=True)
class Delivered:
    """What a channel returns for one announcement: where it went (a Slack channel and message ``ts``, …)."""

    reference: str = ""


class Channel(Protocol):
    name: str  # one of CHANNEL_NAMES
    label: str  # what the preferences page shows ("Slack direct message")

    def available_for(self, user: User) -> bool:
        """Whether ``user`` can be reached here now (matched in Slack, a push subscription, a Teams URL, ...)."""
        ...

    def announce(self, user: User, talking_points: list[TalkingPoint]) -> Delivered:
        """Send ``user`` one message about ``talking_points`` (one, or a daily/weekly batch).

        Raises ``RetryLater`` on a 429/5xx (the job retries per Retry-After, never sending twice what was accepted)
        and ``Unreachable`` when the person is gone from the service.
        """
        ...


_registry: dict[str, Channel] = {}


def register(channel: Channel) -> Channel:
    """Make ``channel`` available under its name (called at import time by each channel's module)."""
    _registry[channel.name] = channel
    return channel


def get(name: str) -> Channel | None:
    return _registry.get(name)


def registered() -> dict[str, Channel]:
    return dict(_registry)
