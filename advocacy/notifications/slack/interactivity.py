"""``POST /slack/interactivity``: what people click in their Slack DMs.

Every request is checked by slack_sdk's ``SignatureVerifier`` (HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the
signing secret, constant-time compare, refused when the timestamp is more than 5 minutes away) and remembered in
Redis for 10 minutes by its signature, so a replayed request is refused too. The Slack member is mapped to the person
this app matched by e-mail; then each button goes through the same domain function as the web: "Share on X" is
``delivery.services.create_share(..., channel="slack")`` (screening, targeting, window, one live share per account,
policy), Approve and Reject are ``content.workflow.approve``/``reject`` (four eyes). A refusal is answered to the
person alone (an ephemeral message through the ``response_url``) and nothing is posted; the DM is updated in place.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from advocacy.auth import public
from advocacy.content.models import TalkingPoint
from advocacy.errors import DomainError
from advocacy.extensions import csrf, db, limiter, redis_client
from advocacy.notifications.channels import RetryLater, Unreachable
from advocacy.notifications.slack import install, messages
from advocacy.notifications.slack.client import SlackError, bot_client, call, timeout
from advocacy.people.models import User

log = logging.getLogger(__name__)
bp = Blueprint("slack_interactivity", __name__)
REPLAY_WINDOW = 600  # seconds a signature is remembered: longer than the 5 minutes a timestamp is accepted
REASON_BLOCK = "reason"
IN_REQUEST_TIMEOUT = 2  # seconds for each call back to Slack while Slack waits (3 s) for the answer


def _verified_body() -> bytes | None:
    """The raw body when Slack signed it (and it is not a replay); None otherwise."""
    body = request.get_data(cache=True)
    secret = current_app.config["SLACK_SIGNING_SECRET"]
    if not secret:
        return None
    from slack_sdk.signature import SignatureVerifier  # slack_sdk loads with the first Slack request

    try:
        valid = SignatureVerifier(secret).is_valid_request(body, dict(request.headers))
    except ValueError:  # a timestamp that is not a number
        valid = False
    if not valid:
        log.warning("event=slack_request_refused reason=signature")
        return None
    key = f"advocacy:slack:seen:{request.headers.get('X-Slack-Signature', '')}"
    if not redis_client().set(key, "1", nx=True, ex=REPLAY_WINDOW):
        log.warning("event=slack_request_refused reason=replay")
        return None
    return body


@bp.post("/slack/interactivity")
@csrf.exempt
@limiter.exempt
@public
def interactivity() -> Any:
    """Slack's Request URL for interactivity: button clicks and modal submissions, signed by Slack."""
    if _verified_body() is None:
        return Response("invalid request signature, or a replay", 401, mimetype="text/plain")
    g.slack_timeout = IN_REQUEST_TIMEOUT
    try:
        payload = json.loads(request.form.get("payload", ""))
    except ValueError:
        return Response("payload must be JSON", 400, mimetype="text/plain")
    user = install.person_for((payload.get("team") or {}).get("id", ""), (payload.get("user") or {}).get("id", ""))
    kind = payload.get("type")
    if kind == "view_submission":
        return _submitted(payload, user)
    if kind != "block_actions":
        return Response("", 200)
    if user is None or not user.active:
        _tell(payload, "advocacy does not know you: ask an admin to check your e-mail address. Nothing was shared.")
        return Response("", 200)
    for action in payload.get("actions", [])[:1]:
        _act(payload, user, str(action.get("action_id", "")))
    return Response("", 200)


def _act(payload: dict[str, Any], user: User, action_id: str) -> None:
    verb, _, rest = action_id.partition(":")
    tp_id_text, _, network = rest.partition(":")
    tp = db.session.get(TalkingPoint, int(tp_id_text)) if tp_id_text.isdigit() else None
    if tp is None or verb in ("edit", "open", "connect"):  # URL buttons: Slack opened the page already
        return
    if verb == "share":
        _share(payload, user, tp, network)
    elif verb == "dismiss":
        messages.dismiss(user.id, tp.id)
        _refresh(user.id, tp.id)
    elif verb == "approve":
        from advocacy.content import workflow

        try:
            workflow.approve(tp, user)
        except DomainError as exc:
            db.session.rollback()
            _tell(payload, f"Not approved: {exc.message}")
            return
        _close_reviews(tp, f"Approved by {user.name} in Slack")
    elif verb == "reject":
        _reject_dialog(payload, tp)


def _share(payload: dict[str, Any], user: User, tp: TalkingPoint, network: str) -> None:
    from advocacy.delivery.services import create_share

    try:
        share = create_share(user, tp, network, channel="slack")
    except DomainError as exc:
        db.session.rollback()
        log.info("event=slack_share_refused user_id=%s talking_point_id=%s field=%s", user.id, tp.id, exc.field)
        _tell(payload, f"Nothing was shared: {exc.message}")
        _refresh(user.id, tp.id)
        return
    log.info("event=slack_share share_id=%s user_id=%s network=%s", share.id, user.id, network)
    _refresh(user.id, tp.id)


def _refresh(user_id: int, tp_id: int) -> None:
    """Show the live status in the DM; a failure here never undoes what was done (publishing updates it again)."""
    try:
        messages.refresh_announcement(user_id, tp_id)
    except (RetryLater, Unreachable, SlackError) as exc:
        log.warning("event=slack_update_failed user_id=%s talking_point_id=%s error=%s", user_id, tp_id, exc)


def _close_reviews(tp: TalkingPoint, note: str) -> None:
    try:
        messages.close_reviews(tp, note)
    except (RetryLater, Unreachable, SlackError) as exc:
        log.warning("event=slack_update_failed talking_point_id=%s error=%s", tp.id, exc)


def _tell(payload: dict[str, Any], text: str) -> None:
    """Answer the person alone (ephemeral), through the request's ``response_url``."""
    url = payload.get("response_url")
    if not url:
        return
    from slack_sdk.webhook import WebhookClient

    try:
        WebhookClient(url, timeout=timeout()).send(
            text=text, response_type="ephemeral", replace_original=False)
    except OSError as exc:
        log.warning("event=slack_response_failed error=%s", type(exc).__name__)


def _reject_dialog(payload: dict[str, Any], tp: TalkingPoint) -> None:
    """Ask for the reason in a modal (``views.open`` with the click's ``trigger_id``)."""
    client = bot_client()
    if client is None:
        return
    view = {"type": "modal", "callback_id": "reject", "private_metadata": str(tp.id),
            "title": {"type": "plain_text", "text": "Reject talking point"},
            "submit": {"type": "plain_text", "text": "Reject"}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": messages.escape(tp.title)[:3000]}},
                       {"type": "input", "block_id": REASON_BLOCK,
                        "label": {"type": "plain_text", "text": "Why? The author sees this."},
                        "element": {"type": "plain_text_input", "action_id": REASON_BLOCK, "multiline": True}}]}
    try:
        call(client, "views_open", trigger_id=payload.get("trigger_id", ""), view=view)
    except (RetryLater, Unreachable, SlackError) as exc:
        _tell(payload, f"Could not open the form ({exc}); reject it in the studio instead.")


def _submitted(payload: dict[str, Any], user: User | None) -> Any:
    """A modal submitted: the reject reason. Errors are shown in the modal (``response_action: errors``)."""
    view = payload.get("view") or {}
    if view.get("callback_id") != "reject":
        return Response("", 200)
    if user is None or not user.active:
        return jsonify(response_action="errors", errors={REASON_BLOCK: "advocacy does not know you"})
    values = ((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK, {}).get(REASON_BLOCK, {})
    reason = str(values.get("value") or "")
    tp = db.session.get(TalkingPoint, int(view["private_metadata"])) if str(
        view.get("private_metadata", "")).isdigit() else None
    if tp is None:
        return jsonify(response_action="errors", errors={REASON_BLOCK: "that talking point is gone"})
    from advocacy.content import workflow

    try:
        workflow.reject(tp, user, reason)
    except DomainError as exc:
        db.session.rollback()
        return jsonify(response_action="errors", errors={REASON_BLOCK: exc.message})
    _close_reviews(tp, f"Rejected by {user.name} in Slack: {reason}")
    return Response("", 200)
