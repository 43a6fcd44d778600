"""Slack calling the app: button clicks and modal submissions POSTed to the app's Request URL, signed as Slack signs
them (v0, ``X-Slack-Request-Timestamp``, by slack_sdk's own ``SignatureVerifier``), and the ``response_url`` the
app may answer through (at most 5 uses in 30 minutes).

Control API: ``POST /_sandbox/click`` ``{"channel", "ts", "action_id", "as_user"?, "timestamp_offset"?,
"signature"?}`` clicks a button of a message (as the DM's owner unless ``as_user``, an e-mail, says otherwise;
``timestamp_offset`` seconds and ``signature`` forge a stale or wrongly signed request) and answers what the app
answered and the exact request sent (to replay it); ``POST /_sandbox/views/<id>/submit`` ``{"values": {block_id:
{action_id: text}}}`` submits an open modal; ``GET /_sandbox/views``; ``GET /_sandbox/interactions``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any
from urllib.parse import urlencode

import requests
from flask import Flask, Response, request
from slack_sdk.signature import SignatureVerifier

from sandbox.common import ControlError, control_body, json_response
from sandbox.slack.state import APP_ID, TEAM_ID, Interaction, Message, SlackState


def _find_action(message: Message, action_id: str) -> tuple[str, dict[str, Any]]:
    for block in message.blocks:
        elements = block.get("elements", []) if block.get("type") == "actions" else [block.get("accessory") or {}]
        for element in elements:
            if element.get("action_id") == action_id:
                return block.get("block_id", ""), element
    raise ControlError(f"the message has no button with action_id {action_id!r}")


def _user(state: SlackState, member_id: str) -> dict[str, Any]:
    member = state.members[member_id]
    return {"id": member.id, "username": member.email.split("@")[0], "name": member.email.split("@")[0],
            "team_id": TEAM_ID}


def send(state: SlackState, payload: dict[str, Any], *, timestamp_offset: int = 0,
         signature: str | None = None) -> dict[str, Any]:
    """POST ``payload`` to the app's Request URL as Slack does; returns the app's answer and the request sent."""
    url = state.config.interactivity_url
    if not url:
        raise ControlError("set interactivity_url (POST /_sandbox/config): the app's Request URL for interactivity")
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    timestamp = str(int(time.time()) + timestamp_offset)
    signed = SignatureVerifier(state.config.signing_secret).generate_signature(timestamp=timestamp, body=body)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": signature or signed or "", "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
    try:
        answer = requests.post(url, data=body.encode(), headers=headers, timeout=10, allow_redirects=False)
        status, text = answer.status_code, answer.text
    except requests.RequestException as exc:
        status, text = 0, f"could not reach the app: {exc}"
    action = (payload.get("actions") or [{}])[0].get("action_id") or payload.get("view", {}).get("callback_id", "")
    with state.lock:
        state.interactions.append(Interaction(payload["type"], payload["user"]["id"], action, status, text[:2000],
                                              time.time()))
    return {"status": status, "answer": text[:2000], "request": {"url": url, "body": body, "headers": headers}}


def click(state: SlackState, base_url: str, channel: str, ts: str, action_id: str, as_user: str | None = None,
          **options: Any) -> dict[str, Any]:
    """Click the button ``action_id`` of the message at ``channel``/``ts``."""
    message = state.message(channel, ts)
    if message is None:
        raise ControlError(f"no message {ts!r} in channel {channel!r}")
    block_id, element = _find_action(message, action_id)
    member_id = state.owner_of(channel)
    if as_user is not None:
        member = state.member_by_email(as_user)
        if member is None:
            raise ControlError(f"no member with e-mail {as_user!r}")
        member_id = member.id
    assert member_id is not None
    action = {"type": "button", "action_id": action_id, "block_id": block_id, "text": element["text"],
              "action_ts": f"{time.time():.6f}"}
    if "value" in element:
        action["value"] = element["value"]
    payload = {
        "type": "block_actions", "api_app_id": APP_ID, "token": "deprecated-verification-token",
        "team": {"id": TEAM_ID, "domain": "acme-sandbox"}, "user": _user(state, member_id),
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "directmessage"}, "is_enterprise_install": False,
        "trigger_id": state.new_trigger(member_id),
        "response_url": state.new_response_url(base_url, channel, ts, member_id),
        "message": {"type": "message", "ts": ts, "text": message.text, "blocks": message.blocks},
        "actions": [action],
    }
    return send(state, payload, **options)


def submit_view(state: SlackState, view_id: str, values: Any, **options: Any) -> dict[str, Any]:
    """Submit the open modal ``view_id`` with ``values`` ({block_id: {action_id: text}})."""
    with state.lock:
        record = state.views.get(view_id)
    if record is None or not record.open:
        raise ControlError(f"no open view {view_id!r}")
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise ControlError("values maps block ids to {action_id: text}")
    state_values = {block: {action: {"type": "plain_text_input", "value": text} for action, text in inputs.items()}
                    for block, inputs in values.items()}
    payload = {
        "type": "view_submission", "api_app_id": APP_ID, "team": {"id": TEAM_ID, "domain": "acme-sandbox"},
        "user": _user(state, record.user), "trigger_id": state.new_trigger(record.user),
        "view": {"id": record.id, "type": "modal", "team_id": TEAM_ID, "app_id": APP_ID,
                 "callback_id": record.view.get("callback_id", ""),
                 "private_metadata": record.view.get("private_metadata", ""),
                 "title": record.view.get("title"), "blocks": record.view.get("blocks"),
                 "state": {"values": state_values}},
    }
    result = send(state, payload, **options)
    closes = result["status"] == 200 and ('"response_action"' not in result["answer"])
    with state.lock:
        record.open = not closes
    return result


def install_interactivity(app: Flask, state: SlackState) -> None:
    @app.post("/_sandbox/click")
    def control_click() -> Response:
        body = control_body()
        for key in ("channel", "ts", "action_id"):
            if not isinstance(body.get(key), str):
                raise ControlError(f"{key} is required (a string)")
        options = {k: body[k] for k in ("timestamp_offset", "signature") if k in body}
        return json_response(click(state, request.host_url.rstrip("/"), body["channel"], body["ts"],
                                   body["action_id"], body.get("as_user"), **options))

    @app.get("/_sandbox/views")
    def list_views() -> Response:
        with state.lock:
            return json_response({"views": [dataclasses.asdict(v) for v in state.views.values()]})

    @app.post("/_sandbox/views/<view_id>/submit")
    def control_submit(view_id: str) -> Response:
        return json_response(submit_view(state, view_id, control_body().get("values", {})))

    @app.get("/_sandbox/interactions")
    def list_interactions() -> Response:
        with state.lock:
            return json_response({"interactions": [dataclasses.asdict(i) for i in state.interactions]})

    @app.post("/_hooks/actions/<team>/<key>")
    def response_url(team: str, key: str) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return Response("invalid_payload", 400, mimetype="text/plain")
        with state.lock:
            hook = state.response_urls.get(key)
            if hook is None or team != TEAM_ID or hook.expires_at < time.time() or hook.uses <= 0:
                return Response("expired_url", 404, mimetype="text/plain")
            hook.uses -= 1
        text = body.get("text") or ""
        blocks = body.get("blocks") or []
        with state.lock:
            if body.get("delete_original"):
                state.messages = [m for m in state.messages if (m.channel, m.ts) != (hook.channel, hook.ts)]
            elif body.get("replace_original"):
                original = state.message(hook.channel, hook.ts)
                if original is not None:
                    original.text, original.blocks, original.edited = text, blocks, True
            else:
                ephemeral = body.get("response_type", "ephemeral") == "ephemeral"
                state.messages.append(Message(hook.channel, state.next_ts(), text, blocks,
                                              ephemeral_for=hook.user if ephemeral else None))
        return Response("ok", 200, mimetype="text/plain")
