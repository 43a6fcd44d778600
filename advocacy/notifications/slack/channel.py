"""``SlackChannel``: the "slack" notification channel (a DM from the app's bot), registered on import."""

from __future__ import annotations

from advocacy.content.models import TalkingPoint
from advocacy.notifications import channels
from advocacy.notifications.channels import Delivered, RetryLater
from advocacy.notifications.slack import install, messages
from advocacy.people.models import User


class SlackChannel:
    name = "slack"
    label = "Slack direct message"

    def available_for(self, user: User) -> bool:
        """The app is installed and the person was found in the workspace by e-mail (looked up once, then kept)."""
        if install.current_installation() is None:
            return False
        try:
            return install.slack_user_id(user) is not None
        except RetryLater:
            return True  # cannot tell now: ``announce`` meets the same limit and the job retries

    def announce(self, user: User, talking_points: list[TalkingPoint]) -> Delivered:
        """One DM about ``talking_points``; a retry after Slack accepted it sends nothing more."""
        return messages.send_announcement(user, talking_points)


channel = channels.register(SlackChannel())
