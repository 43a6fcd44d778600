"""Microsoft Teams: an Adaptive Card per talking point, posted to a Workflows webhook (no Azure bot).

A person's own webhook (a flow that posts to their chat with the Workflows bot, set on their preferences page) gets
cards whose buttons are their one-tap share links ("Share on X": ``oneclick.share_link(..., channel="teams")``, a
confirmation page and a POST, so a link preview bot shares nothing). A team's webhook (set by admins and comms on the
team's page) posts into a channel everyone in it reads: a one-tap link acts for the person it names without a login,
so those cards carry no personal links, only "Open in advocacy"; and they are posted once per talking point, however
many of the team's people are announced to.

Sending (PLATFORMS-2026 §7): ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": <AdaptiveCard 1.4>}]}``; a body over
``MAX_BYTES`` (Teams' "Request Entity too large", about 28 KB) is shortened (no preview, shorter copy) and refused
before sending when still too large. Only ``Action.OpenUrl`` (``Action.Submit`` needs a bot). A card is claimed in
``teams_posts`` before it is posted, so a retry after a 429 never posts it twice. 429 and 5xx raise ``RetryLater``
(its ``Retry-After``); 404/410 (flow deleted or turned off), 401/403 raise ``Unreachable``.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from advocacy import outbound
from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.accounts.networks import LABELS
from advocacy.content import composing
from advocacy.content.link_previews import link_preview
from advocacy.extensions import db
from advocacy.notifications import channels, oneclick
from advocacy.notifications.destinations import TeamsPost, TeamsWebhook, teams_webhook_for

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)
MAX_BYTES = 28 * 1024
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
DEFAULT_RETRY_SECONDS = 30.0


class CardTooLarge(ValueError):
    """The card is over Teams' size limit even in its short form: not sent."""


class TeamsRefused(RuntimeError):
    """Teams refused the card (400/413): a card this app built wrong; the announcement fails, nothing is retried."""


def webhook_for(user: Any) -> TeamsWebhook | None:
    """The webhook a person's cards go to: their own, else their team's."""
    return teams_webhook_for(user_id=user.id) or (
        teams_webhook_for(team_id=user.team_id) if user.team_id is not None else None)


def connected_networks(user_id: int) -> list[str]:
    return list(db.session.scalars(select(ConnectedAccount.network).where(
        ConnectedAccount.user_id == user_id, ConnectedAccount.status == AccountStatus.ACTIVE)
        .order_by(ConnectedAccount.id)))


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def build_card(user: Any, tp: Any, *, personal: bool, short: bool = False) -> dict[str, Any]:
    """The Adaptive Card (1.4) announcing ``tp``: title, the link's preview, the copy as it will post, buttons.

    Args:
        user: whom it is for (their copy variant, their one-tap links when ``personal``).
        tp: an approved talking point.
        personal: a person's own webhook (one-tap share links) rather than a team's channel.
        short: leave out the preview and shorten the copy (for a card over the size limit).
    """
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    networks = connected_networks(user.id) if personal else []
    copy = composing.compose(tp, networks[0] if networks else "linkedin", user_id=user.id if personal else None)
    if short and len(copy) > 600:
        copy = copy[:600].rstrip() + "…"
    body: list[dict[str, Any]] = [_text("New talking point to share", size="Small", isSubtle=True),
                                  _text(tp.title, weight="Bolder", size="Medium")]
    preview = None if short else link_preview(tp.id)
    if preview is not None and preview.image_url and urlsplit(preview.image_url).scheme in ("http", "https"):
        body.append({"type": "Image", "url": preview.image_url, "altText": preview.shown_title or tp.title,
                     "size": "Stretch"})
    if preview is not None and (preview.shown_title or preview.description):
        body.append(_text(" · ".join(filter(None, (preview.shown_title, preview.description)))[:400],
                          isSubtle=True, maxLines=3))
    body.append(_text(copy))
    body.append(_text(tp.approved_link or tp.link, size="Small", isSubtle=True))
    actions = [{"type": "Action.OpenUrl", "title": f"Share on {LABELS.get(n, n)}",
                "url": oneclick.share_link(user, tp, n, "teams")} for n in networks]
    actions.append({"type": "Action.OpenUrl", "title": "Open in advocacy", "url": f"{base}/feed"})
    return {"type": "AdaptiveCard", "version": "1.4", "body": body, "actions": actions,
            "msteams": {"width": "Full"}}


def message_body(card: dict[str, Any]) -> bytes:
    """The webhook body for ``card``; ``CardTooLarge`` when over ``MAX_BYTES``."""
    raw = json.dumps({"type": "message", "attachments": [
        {"contentType": CARD_TYPE, "contentUrl": None, "content": card}]}, ensure_ascii=False).encode()
    if len(raw) > MAX_BYTES:
        raise CardTooLarge(f"the card is {len(raw):,} bytes; Teams takes at most {MAX_BYTES:,}")
    return raw


def _session() -> requests.Session:
    return outbound.session(float(current_app.config["HTTP_TIMEOUT"]), max_redirects=0)


def post(url: str, body: bytes) -> None:
    """POST one webhook body; returns when Teams accepted it. Raises ``RetryLater``, ``Unreachable`` or
    ``TeamsRefused``."""
    import requests

    try:
        answer = _session().post(url, data=body, headers={"Content-Type": "application/json"},
                                 allow_redirects=False)
    except requests.RequestException as exc:  # the guard's refusal too: the flow's host is not reachable now
        raise channels.RetryLater(DEFAULT_RETRY_SECONDS, f"Teams could not be reached ({type(exc).__name__})") \
            from None
    status = answer.status_code
    if 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        wait = answer.headers.get("Retry-After", "")
        raise channels.RetryLater(float(wait) if wait.isdigit() else DEFAULT_RETRY_SECONDS,
                                  f"Teams answered {status}")
    if status in (401, 403, 404, 410):
        raise channels.Unreachable(f"the Teams workflow is gone or turned off (HTTP {status}); set it up again")
    raise TeamsRefused(f"Teams refused the card (HTTP {status}): {answer.text[:300]}")


def _claim(hook: TeamsWebhook, tp_id: int) -> TeamsPost | None:
    row = TeamsPost(webhook_id=hook.id, talking_point_id=tp_id)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # posted already (an earlier try, or a teammate's announcement)
        db.session.rollback()
        return None
    return row


class TeamsChannel:
    name = "teams"
    label = "Microsoft Teams"

    def available_for(self, user: Any) -> bool:
        return webhook_for(user) is not None

    def announce(self, user: Any, talking_points: list[Any]) -> channels.Delivered:
        hook = webhook_for(user)
        if hook is None:
            raise channels.Unreachable("no Teams workflow URL is set for you or your team")
        personal = hook.user_id is not None
        url, posted = hook.url, 0
        for tp in talking_points:
            try:
                body = message_body(build_card(user, tp, personal=personal))
            except CardTooLarge:
                body = message_body(build_card(user, tp, personal=personal, short=True))
            claim = _claim(hook, tp.id)
            if claim is None:
                continue
            try:
                post(url, body)
            except BaseException:
                db.session.rollback()
                db.session.execute(delete(TeamsPost).where(TeamsPost.id == claim.id))
                db.session.commit()
                raise
            posted += 1
            log.info("event=teams_card_posted user_id=%s talking_point_id=%s webhook_id=%s bytes=%s", user.id, tp.id,
                     hook.id, len(body))
        return channels.Delivered(f"teams:{'person' if personal else 'team'}:{hook.id}:{posted}")


channels.register(TeamsChannel())
