"""Every model, imported once so Alembic and the app see the whole schema."""

from advocacy.accounts.models import AccountStatus, ConnectedAccount, MastodonApp
from advocacy.audit.models import AuditEvent
from advocacy.content.link_previews import LinkPreview
from advocacy.content.models import (
    Comment,
    PostDeletion,
    Revision,
    ScreeningRule,
    Status,
    TalkingPoint,
    TalkingPointImage,
    Target,
    Variant,
)
from advocacy.delivery.models import FanOut, Share, ShareStatus
from advocacy.integrations.models import FeedItem, FeedSource, WebhookDelivery, WebhookEndpoint
from advocacy.notifications.destinations import PushSubscription, TeamsPost, TeamsWebhook
from advocacy.notifications.models import DigestState, Notification
from advocacy.notifications.oneclick import OneClickUse
from advocacy.notifications.slack.models import SlackInstallation, SlackMessage, SlackPerson
from advocacy.people.models import ApiToken, PolicyVersion, Role, Team, User
from advocacy.reach.models import (
    ActivityTotals,
    ClickDaily,
    ClickEvent,
    ClickVisitor,
    DayTotals,
    MetricSnapshot,
    MonthTotals,
    RateCard,
    ReachPreference,
    Result,
    ShareStats,
    VisitorSalt,
)

__all__ = [
    "AuditEvent", "Comment", "TalkingPointImage", "PostDeletion", "Revision", "ScreeningRule", "Target",
    "ClickDaily", "ClickEvent", "ClickVisitor", "MetricSnapshot", "RateCard", "ReachPreference", "Result",
    "ShareStats", "VisitorSalt", "ActivityTotals", "DayTotals", "MonthTotals", "FanOut", "DigestState", "Notification",
    "OneClickUse", "PushSubscription", "TeamsPost", "TeamsWebhook",
    "SlackInstallation", "SlackMessage", "SlackPerson",
    "AccountStatus", "ApiToken", "ConnectedAccount", "MastodonApp", "PolicyVersion", "Role", "Share", "ShareStatus",
    "Status",
    "TalkingPoint", "Team", "User", "Variant", "LinkPreview",
    "FeedItem", "FeedSource", "WebhookDelivery", "WebhookEndpoint",
]

from advocacy.audit import services as _audit  # noqa: E402,F401  (registers the audit log's model listeners)
from advocacy.delivery.fanout import listen as _listen_fanout  # noqa: E402  (approval queues auto-shares)

_listen_fanout()
