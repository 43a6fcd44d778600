"""The DMs: an announcement (the preview, one button per connected network, Edit first, Not for me, and the live
status of each share) and a review request (Approve / Reject). Each is rendered from the database every time, so
posting it and updating it in place (``chat.update``) show the same truth."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import select

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.accounts.networks import LABELS
from advocacy.content.composing import compose
from advocacy.content.models import Status, TalkingPoint
from advocacy.delivery.models import Share, ShareStatus
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.notifications.channels import Delivered, Unreachable
from advocacy.notifications.slack import install
from advocacy.notifications.slack.client import bot_client, call
from advocacy.notifications.slack.models import SlackMessage
from advocacy.people.models import User

log = logging.getLogger(__name__)
ANNOUNCE, REVIEW = "announce", "review"
MAX_PER_MESSAGE = 9  # five blocks each: within Slack's 50
STATUS_TEXT = {
    ShareStatus.SCHEDULED: "Scheduled on {net}", ShareStatus.QUEUED: "Queued on {net}",
    ShareStatus.PUBLISHING: "Posting on {net}…", ShareStatus.PAUSED: "Paused on {net}: reconnect your account",
    ShareStatus.CANCELLED: "Cancelled on {net}", ShareStatus.OPENED: "Opened {net}'s share dialog",
}


def escape(text: str) -> str:
    """Text shown as mrkdwn: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": (text[: limit - 1] + "…") if len(text) > limit else text or " "}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def networks_of(user: User) -> list[str]:
    return list(db.session.scalars(select(ConnectedAccount.network).where(
        ConnectedAccount.user_id == user.id, ConnectedAccount.status == AccountStatus.ACTIVE)
        .order_by(ConnectedAccount.network)))


def _status_line(share: Share) -> str:
    net = LABELS.get(share.network, share.network)
    if share.status == ShareStatus.PUBLISHED:
        return f"Posted on {net}" + (f": <{share.post_url}|view the post>" if share.post_url else "")
    if share.status == ShareStatus.FAILED:
        return f"Not posted on {net}: {escape((share.last_error or 'failed')[:300])}"
    return STATUS_TEXT.get(share.status, "{net}: " + share.status).format(net=net)


def _point_blocks(user: User, tp: TalkingPoint, networks: list[str], dismissed: bool) -> list[dict[str, Any]]:
    public = current_app.config["PUBLIC_URL"].rstrip("/")
    preview = compose(tp, networks[0] if networks else "linkedin", None, user.id)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(tp.title, 150)},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(preview)[:3000]}},
    ]
    shares: dict[str, Share] = {}
    for share in db.session.scalars(select(Share).where(Share.user_id == user.id, Share.talking_point_id == tp.id)
                                    .order_by(Share.id)):
        shares[share.network] = share  # the newest per network
    lines = [_status_line(s) for s in shares.values()]
    if tp.status == Status.WITHDRAWN:
        lines.append("This talking point was withdrawn: it can no longer be shared.")
    elif dismissed:
        lines.append("You passed on this one. It stays on your feed if you change your mind.")
    blocks.append(_context(" · ".join(lines) if lines else f"<{public}/feed?show=all#card-{tp.id}|Open in advocacy>"))
    if tp.status == Status.WITHDRAWN or dismissed:
        return blocks
    done = {n for n, s in shares.items() if s.status in (*ShareStatus.PENDING, ShareStatus.PAUSED,
                                                          ShareStatus.PUBLISHED)}
    buttons: list[dict[str, Any]] = [
        {"type": "button", "text": _plain(f"Share on {LABELS.get(n, n)}", 75), "action_id": f"share:{tp.id}:{n}",
         "value": f"{tp.id}:{n}", "style": "primary"} for n in networks if n not in done][:3]
    if not networks:
        buttons.append({"type": "button", "text": _plain("Connect an account", 75), "action_id": f"connect:{tp.id}",
                        "url": f"{public}/accounts"})
    label = "Edit first" if buttons and networks else "Open in advocacy"  # nothing left to share: just look
    buttons.append({"type": "button", "text": _plain(label, 75), "action_id": f"edit:{tp.id}",
                    "url": f"{public}/feed?show=all#card-{tp.id}"})
    if not done:
        buttons.append({"type": "button", "text": _plain("Not for me", 75), "action_id": f"dismiss:{tp.id}",
                        "value": str(tp.id)})
    blocks.append({"type": "actions", "block_id": f"tp-{tp.id}", "elements": buttons})
    return blocks


def announcement(user: User, tps: list[TalkingPoint], dismissed: set[int] | None = None
                 ) -> tuple[str, list[dict[str, Any]]]:
    """The fallback text and the blocks of one announcement DM."""
    networks = networks_of(user)
    shown = tps[:MAX_PER_MESSAGE]
    blocks: list[dict[str, Any]] = []
    for i, tp in enumerate(shown):
        if i:
            blocks.append({"type": "divider"})
        blocks.extend(_point_blocks(user, tp, networks, tp.id in (dismissed or set())))
    if len(tps) > len(shown):
        public = current_app.config["PUBLIC_URL"].rstrip("/")
        blocks.append(_context(f"… and {len(tps) - len(shown)} more <{public}/feed|on your feed>"))
    text = (f"New to share: {tps[0].title}" if len(tps) == 1 else f"{len(tps)} new talking points to share")
    return text, blocks


def _rows(user_id: int, tp_ids: list[int], kind: str) -> dict[int, SlackMessage]:
    return {r.talking_point_id: r for r in db.session.scalars(select(SlackMessage).where(
        SlackMessage.user_id == user_id, SlackMessage.talking_point_id.in_(tp_ids), SlackMessage.kind == kind))}


def _open_dm(user: User) -> str:
    client = bot_client()
    if client is None:
        raise Unreachable("the Slack app is not installed")
    slack_id = install.slack_user_id(user)
    if slack_id is None:
        raise Unreachable("not found in the Slack workspace by e-mail")
    try:
        return str(call(client, "conversations_open", users=slack_id)["channel"]["id"])
    except Unreachable:
        install.forget(user.id)
        raise


def send_announcement(user: User, tps: list[TalkingPoint]) -> Delivered:
    """DM ``user`` about ``tps``; a talking point already in one of their DMs is not sent again (a retry after the
    DM was accepted posts nothing)."""
    existing = _rows(user.id, [tp.id for tp in tps], ANNOUNCE)
    todo = [tp for tp in tps if tp.id not in existing]
    if not todo:
        first = next(iter(existing.values()))
        return Delivered(f"{first.channel_id}/{first.ts}")
    channel = _open_dm(user)
    text, blocks = announcement(user, todo)
    client = bot_client()
    assert client is not None
    try:
        answer = call(client, "chat_postMessage", channel=channel, text=text, blocks=blocks, unfurl_links=False)
    except Unreachable:
        install.forget(user.id)
        raise
    ts = str(answer["ts"])
    for tp in todo[:MAX_PER_MESSAGE]:
        db.session.add(SlackMessage(user_id=user.id, talking_point_id=tp.id, kind=ANNOUNCE, channel_id=channel, ts=ts))
    db.session.commit()
    log.info("event=slack_announced user_id=%s count=%s", user.id, len(todo))
    return Delivered(f"{channel}/{ts}")


def refresh_announcement(user_id: int, tp_id: int) -> bool:
    """Update the announcement DM showing ``tp_id`` to ``user_id`` in place; False when there is none."""
    row = _rows(user_id, [tp_id], ANNOUNCE).get(tp_id)
    user = db.session.get(User, user_id)
    client = bot_client()
    if row is None or user is None or client is None:
        return False
    batch = list(db.session.scalars(select(SlackMessage).where(
        SlackMessage.channel_id == row.channel_id, SlackMessage.ts == row.ts).order_by(SlackMessage.id)))
    tps = [tp for tp in (db.session.get(TalkingPoint, r.talking_point_id) for r in batch) if tp is not None]
    text, blocks = announcement(user, tps, {r.talking_point_id for r in batch if r.dismissed_at})
    call(client, "chat_update", channel=row.channel_id, ts=row.ts, text=text, blocks=blocks)
    return True


def refresh_all(tp_id: int) -> int:
    """Update every announcement DM showing ``tp_id``; people gone from Slack are skipped. Returns how many."""
    user_ids = list(db.session.scalars(select(SlackMessage.user_id).where(
        SlackMessage.talking_point_id == tp_id, SlackMessage.kind == ANNOUNCE).order_by(SlackMessage.id)))
    done = 0
    for user_id in user_ids:
        try:
            done += refresh_announcement(user_id, tp_id)
        except Unreachable:
            continue
    return done


def dismiss(user_id: int, tp_id: int) -> None:
    row = _rows(user_id, [tp_id], ANNOUNCE).get(tp_id)
    if row is not None and row.dismissed_at is None:
        row.dismissed_at = utcnow()
        db.session.commit()


# --------------------------------------------------------------------------------------------- review requests
def review(tp: TalkingPoint, note: str | None) -> tuple[str, list[dict[str, Any]]]:
    public = current_app.config["PUBLIC_URL"].rstrip("/")
    author = db.session.get(User, tp.author_id)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(f"Review requested: {tp.title}", 150)},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(compose(tp, "linkedin"))[:3000]}},
        _context(f"Submitted by {escape(author.name if author else 'someone')} · "
                 f"<{public}/studio/{tp.id}|Open in the studio>"),
    ]
    if note:
        blocks.append(_context(escape(note)))
    else:
        blocks.append({"type": "actions", "block_id": f"review-{tp.id}", "elements": [
            {"type": "button", "text": _plain("Approve", 75), "action_id": f"approve:{tp.id}", "value": str(tp.id),
             "style": "primary"},
            {"type": "button", "text": _plain("Reject…", 75), "action_id": f"reject:{tp.id}", "value": str(tp.id),
             "style": "danger"},
            {"type": "button", "text": _plain("Open", 75), "action_id": f"open:{tp.id}",
             "url": f"{public}/studio/{tp.id}"}]})
    return f"Review requested: {tp.title}", blocks


def send_review_request(reviewer: User, tp: TalkingPoint) -> None:
    """DM a reviewer the talking point in review (again, after a resubmission)."""
    channel = _open_dm(reviewer)
    client = bot_client()
    assert client is not None
    text, blocks = review(tp, None)
    answer = call(client, "chat_postMessage", channel=channel, text=text, blocks=blocks, unfurl_links=False)
    row = _rows(reviewer.id, [tp.id], REVIEW).get(tp.id) or SlackMessage(
        user_id=reviewer.id, talking_point_id=tp.id, kind=REVIEW)
    row.channel_id, row.ts, row.note, row.created_at = channel, str(answer["ts"]), None, utcnow()
    db.session.add(row)
    db.session.commit()


def close_reviews(tp: TalkingPoint, note: str) -> int:
    """Every review DM of ``tp`` says what was decided and loses its buttons. Returns how many were updated."""
    client = bot_client()
    if client is None:
        return 0
    rows = list(db.session.scalars(select(SlackMessage).where(SlackMessage.talking_point_id == tp.id,
                                                              SlackMessage.kind == REVIEW,
                                                              SlackMessage.note.is_(None))))
    text, blocks = review(tp, note)
    for row in rows:
        call(client, "chat_update", channel=row.channel_id, ts=row.ts, text=f"{text}: {note}", blocks=blocks)
        row.note = note
        db.session.commit()
    return len(rows)
