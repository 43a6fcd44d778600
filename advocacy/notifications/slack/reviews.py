"""Review requests in Slack: a talking point submitted for review is DMed to every reviewer who may approve it
(comms staff and admins, active, matched in Slack, never its author: four eyes). Approve and Reject in the DM go
through ``content.workflow`` like the studio's buttons (``interactivity``)."""

from __future__ import annotations

import logging

from sqlalchemy import select

from advocacy.content.checks import EDITORS
from advocacy.content.models import Status, TalkingPoint
from advocacy.extensions import db
from advocacy.notifications.channels import Unreachable
from advocacy.notifications.slack import install, messages
from advocacy.notifications.slack.models import SlackMessage
from advocacy.people.models import User

log = logging.getLogger(__name__)


def reviewers(tp: TalkingPoint) -> list[User]:
    return list(db.session.scalars(select(User).where(User.role.in_([str(r) for r in EDITORS]),
                                                      User.active.is_(True), User.id != tp.author_id)
                                   .order_by(User.id)))


def request_reviews(tp_id: int) -> int:
    """DM the reviewers of a talking point in review; a reviewer DMed since it was submitted is not DMed again
    (a retried job). Returns how many DMs went. Raises ``RetryLater`` when Slack says to wait."""
    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None or tp.status != Status.IN_REVIEW or install.current_installation() is None:
        return 0
    sent = 0
    for reviewer in reviewers(tp):
        row = db.session.scalars(select(SlackMessage).where(
            SlackMessage.user_id == reviewer.id, SlackMessage.talking_point_id == tp.id,
            SlackMessage.kind == messages.REVIEW)).first()
        if row is not None and row.note is None and tp.submitted_at and row.created_at >= tp.submitted_at:
            continue
        try:
            messages.send_review_request(reviewer, tp)
        except Unreachable:
            continue
        sent += 1
    log.info("event=slack_review_requested talking_point_id=%s count=%s", tp.id, sent)
    return sent
