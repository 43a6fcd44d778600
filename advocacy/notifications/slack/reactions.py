"""The Slack DMs follow what happens elsewhere: a share published or failed updates the announcement DM that shows
it (with the post's link), a talking point submitted for review is DMed to the reviewers, an approval (from the web
or Slack) closes their review DMs. The Slack calls run in jobs (``workers.slack``), never on publishing's hot path."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from advocacy import events
from advocacy.content.models import TalkingPoint
from advocacy.delivery.models import Share
from advocacy.extensions import db, redis_client
from advocacy.notifications.slack.models import SlackMessage

log = logging.getLogger(__name__)


def _slack_app() -> bool:
    """A Slack app is configured (no query: an install without Slack pays nothing on publishing's hot path)."""
    return bool(current_app.config["SLACK_CLIENT_ID"])


def on_share_changed(share_id: int, **_: Any) -> int:
    """Queue the update of the DM showing this share, if a DM shows it (one indexed lookup)."""
    if not _slack_app():
        return 0
    share = db.session.get(Share, share_id)
    if share is None:
        return 0
    shown = db.session.scalar(select(SlackMessage.id).where(
        SlackMessage.user_id == share.user_id, SlackMessage.talking_point_id == share.talking_point_id,
        SlackMessage.kind == "announce"))
    if shown is None:
        return 0
    from workers.slack import enqueue_refresh

    try:
        enqueue_refresh(redis_client(), share.user_id, share.talking_point_id)
    except RedisError:  # the published state is committed; the DM shows it at the next click or refresh
        log.warning("event=slack_refresh_not_queued share_id=%s", share_id)
    return 0


def on_submitted(tp: TalkingPoint, **_: Any) -> int:
    from advocacy.notifications.slack.install import current_installation
    from workers.slack import enqueue_review_requests

    if not _slack_app() or current_installation() is None:
        return 0
    try:
        enqueue_review_requests(redis_client(), tp.id)
    except RedisError:
        log.warning("event=slack_review_not_queued talking_point_id=%s", tp.id)
    return 0


def on_approved(tp: TalkingPoint, **_: Any) -> int:
    """Queue closing the talking point's open review DMs (in a job: the approving request does not wait for Slack)."""
    from advocacy.notifications.slack.install import current_installation
    from workers.slack import enqueue_close_reviews

    if not _slack_app() or current_installation() is None or db.session.scalar(select(SlackMessage.id).where(
            SlackMessage.talking_point_id == tp.id, SlackMessage.kind == "review",
            SlackMessage.note.is_(None)).limit(1)) is None:
        return 0
    approver = tp.approved_by.name if tp.approved_by is not None else "a reviewer"
    try:
        enqueue_close_reviews(redis_client(), tp.id, f"Approved by {approver}")
    except RedisError:  # the approval stands; a stale review DM only offers buttons that refuse politely
        log.warning("event=slack_reviews_not_closed talking_point_id=%s", tp.id)
    return 0


def on_withdrawn(tp: TalkingPoint, **_: Any) -> int:
    """Queue the update of every announcement DM of a withdrawn talking point (they lose their buttons)."""
    if not _slack_app() or db.session.scalar(select(SlackMessage.id).where(SlackMessage.talking_point_id == tp.id,
                                                       SlackMessage.kind == "announce").limit(1)) is None:
        return 0
    from workers.slack import enqueue_refresh_all

    try:
        enqueue_refresh_all(redis_client(), tp.id)
    except RedisError:  # the withdrawal stands: a click on a stale DM is refused with a message
        log.warning("event=slack_refresh_not_queued talking_point_id=%s", tp.id)
    return 0


def subscribe() -> None:
    events.share_published.connect(on_share_changed, weak=False)
    events.share_failed.connect(on_share_changed, weak=False)
    events.talking_point_submitted.connect(on_submitted, weak=False)
    events.talking_point_approved.connect(on_approved, weak=False)
    events.talking_point_withdrawn.connect(on_withdrawn, weak=False)
