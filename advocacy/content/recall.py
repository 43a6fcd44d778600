"""Recall: the posts of a talking point still live on their networks, and deleting one there.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import exists, select

from advocacy.audit.services import record
from advocacy.content.checks import EDITORS
from advocacy.content.models import PostDeletion, TalkingPoint
from advocacy.errors import Conflict, DomainError, NotAllowed
from advocacy.extensions import db
from advocacy.people.models import User

log = logging.getLogger(__name__)


def live_posts(tp: TalkingPoint) -> list[Any]:
    """Published shares of ``tp`` still up on their network (not deleted through advocacy)."""
    from advocacy.delivery.models import Share, ShareStatus

    return list(db.session.scalars(
        select(Share).where(Share.talking_point_id == tp.id, Share.status == ShareStatus.PUBLISHED,
                            ~exists().where(PostDeletion.share_id == Share.id))
        .order_by(Share.published_at)))


def is_deleted(share_id: int) -> bool:
    return db.session.scalar(select(PostDeletion.id).where(PostDeletion.share_id == share_id)) is not None


def delete_post(share: Any, actor: User) -> None:
    """Delete a published share's post from its network (its author, or comms staff for a recall).

    Args:
        share: a published share.
        actor: the employee who posted it, or comms staff.
    """
    from advocacy.accounts.models import AccountStatus
    from advocacy.accounts.networks import connector_for
    from advocacy.accounts.services import fresh_access_token
    from advocacy.delivery.models import ShareStatus
    from connectors.base import ConnectorError, Rejected

    if actor.id != share.user_id and not actor.has_role(*EDITORS):
        raise NotAllowed("only the person who posted it, or comms staff, can delete a post")
    if share.status != ShareStatus.PUBLISHED or not share.post_id:
        raise DomainError("only a published post can be deleted", "share_id")
    if is_deleted(share.id):
        raise Conflict("this post is deleted already", "share_id")
    account = share.account
    if account is None or account.status != AccountStatus.ACTIVE or not account.access_token_encrypted:
        raise DomainError(f"the {share.network} account is no longer connected: the post must be deleted on "
                          f"{share.network} directly", "share_id")
    try:
        connector_for(share.network).delete(fresh_access_token(account), share.post_id)
    except Rejected as exc:
        if exc.status != 404:  # 404: the network no longer has it, which is what we wanted
            raise DomainError(f"{share.network} refused to delete the post: {exc.message}", "share_id") from None
    except ConnectorError as exc:
        raise DomainError(f"{share.network} did not delete the post ({type(exc).__name__}): {exc.message}; "
                          "try again", "share_id") from None
    db.session.add(PostDeletion(share_id=share.id, deleted_by_id=actor.id))
    record(actor, "delete_post", "share", share.id, talking_point_id=share.talking_point_id, network=share.network)
    db.session.commit()
    log.info("event=post_deleted share_id=%s user_id=%s network=%s", share.id, actor.id, share.network)
