"""The Slack Web API methods the app uses (``/api/<method>``) and the OAuth v2 token exchange.

Like Slack: every API error is HTTP 200 with ``{"ok": false, "error": …}``; arguments come as query parameters, a
form or a JSON body; the bot token as ``Authorization: Bearer xoxb-…``; each method checks the token's scopes
(``missing_scope`` with ``needed`` and ``provided``) and its rate tier (429 with ``Retry-After``, body
``{"ok": false, "error": "ratelimited"}``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request

from sandbox.common import json_response
from sandbox.slack.blocks import Invalid, check_blocks, check_view
from sandbox.slack.state import (
    APP_ID,
    BOT_USER_ID,
    METHOD_SCOPES,
    METHOD_TIERS,
    TEAM_ID,
    BotToken,
    Message,
    SlackState,
    View,
)


class ApiError(Exception):
    """An ``ok: false`` answer (HTTP 200 unless ``status``)."""

    def __init__(self, error: str, status: int = 200, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.body = {"ok": False, "error": error, **extra}
        self.status = status
        self.headers = headers or {}


def arguments() -> dict[str, Any]:
    """Query, form and JSON arguments, as Slack merges them."""
    args: dict[str, Any] = dict(request.args.items())
    args.update(request.form.items())
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError("invalid_json")
        args.update(body)
    return args


def _json_arg(args: dict[str, Any], key: str) -> Any:
    """A structured argument sent as JSON text in a form, or as JSON itself in a JSON body."""
    value = args.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(f"invalid_{key}") from None
    return value


METHODS: dict[str, Callable[[SlackState, dict[str, Any], BotToken], dict[str, Any]]] = {}


def method(name: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        METHODS[name] = fn
        return fn
    return register


def _bot_token(state: SlackState, args: dict[str, Any], name: str) -> BotToken:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.startswith("Bearer ") else args.get("token")
    if not token:
        raise ApiError("not_authed")
    with state.lock:
        rec = state.tokens.get(token)
    if rec is None:
        raise ApiError("invalid_auth")
    if rec.revoked:
        raise ApiError("token_revoked")
    needed = METHOD_SCOPES[name]
    if needed and needed not in rec.scopes:
        raise ApiError("missing_scope", needed=needed, provided=",".join(rec.scopes))
    g.token = token
    return rec

def oauth_access(state: SlackState, args: dict[str, Any]) -> dict[str, Any]:
    auth = request.authorization
    client_id = auth.username if auth and auth.username else args.get("client_id")
    client_secret = auth.password if auth and auth.password else args.get("client_secret")
    config = state.config
    if client_id != config.client_id:
        raise ApiError("invalid_client_id")
    if client_secret != config.client_secret:
        raise ApiError("bad_client_secret")
    code = args.get("code")
    with state.lock:
        grant = state.grants.get(code or "")
        if grant is None or grant.used or grant.expires_at < time.time():
            raise ApiError("invalid_code")
        grant.used = True  # single use, even when the rest of the request is refused
    if grant.redirect_uri and args.get("redirect_uri") != grant.redirect_uri:
        raise ApiError("bad_redirect_uri")
    token = state.new_token(grant.scopes)
    return {"ok": True, "app_id": APP_ID, "access_token": token, "token_type": "bot",
            "scope": ",".join(grant.scopes), "bot_user_id": BOT_USER_ID,
            "team": {"id": TEAM_ID, "name": config.team_name}, "enterprise": None,
            "is_enterprise_install": False, "authed_user": {"id": "U0INSTALLR"}}

@method("auth.test")
def auth_test(state: SlackState, args: dict[str, Any], token: BotToken) -> dict[str, Any]:
    return {"url": request.host_url, "team": state.config.team_name, "user": "advocacy", "team_id": TEAM_ID,
            "user_id": BOT_USER_ID, "bot_id": "B0ADVOBOT", "is_enterprise_install": False}

@method("users.lookupByEmail")
def lookup(state: SlackState, args: dict[str, Any], token: BotToken) -> dict[str, Any]:
    email = args.get("email")
    if not isinstance(email, str) or not email:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: "
                                                                            "email"]})
    member = state.member_by_email(email)
    if member is None:
        raise ApiError("users_not_found")
    return {"user": state.member_view(member)}

@method("users.info")
def users_info(state: SlackState, args: dict[str, Any], token: BotToken) -> dict[str, Any]:
    with state.lock:
        member = state.members.get(str(args.get("user") or ""))
    if member is None:
        raise ApiError("user_not_found")
    view = state.member_view(member)
    if "users:read.email" not in token.scopes:  # the e-mail is shown only with users:read.email
        view["profile"].pop("email", None)
    return {"user": view}


@method("conversations.open")
def open_dm(state: SlackState, args: dict[str, Any], token: BotToken) -> dict[str, Any]:
    users = args.get("users")
    if not isinstance(users, str) or not users:
        raise ApiError("users_list_not_supplied")
    ids = [u.strip() for u in users.split(",") if u.strip()]
    if len(ids) != 1:
        raise ApiError("not_enough_users" if not ids else "method_not_supported_for_channel_type")
    with state.lock:
        member = state.members.get(ids[0])
        if member is None:
            raise ApiError("user_not_found")
        if member.deleted:
            raise ApiError("user_disabled")
        return {"no_op": ids[0] in state.ims, "already_open": ids[0] in state.ims,
                "channel": {"id": state.im_for(member.id)}}

def _message_fields(state: SlackState, args: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    text = args.get("text") or ""
    blocks = _json_arg(args, "blocks")
    if blocks is None and not text:
        raise ApiError("no_text")
    if not isinstance(text, str) or len(text) > 40000:
        raise ApiError("msg_too_long")
    if blocks is not None:
        try:
            check_blocks(blocks, max_blocks=state.config.max_blocks)
        except Invalid as exc:
            raise ApiError("invalid_blocks", errors=[str(exc)],
                           response_metadata={"messages": [str(exc)]}) from None
    return text, blocks or []

def _channel(state: SlackState, args: dict[str, Any]) -> str:
    channel = args.get("channel")
    with state.lock:
        owner = state.owner_of(channel) if isinstance(channel, str) else None
        if owner is None:
            raise ApiError("channel_not_found")
        if state.members[owner].deleted:
            raise ApiError("user_disabled")
    return str(channel)

@method("chat.postMessage")
def post(state: SlackState, args: dict[str, Any], token: BotToken) -> dict[str, Any]:
    channel = _channel(state, args)
    text, blocks = _message_fields(state, args)
    message = Message(channel, state.next_ts(), text, blocks)
    with state.lock:
        state.messages.append(message)
    answer: dict[str, Any] = {"channel": channel, "ts": message.ts,
                              "message": {"type": "message", "bot_id": "B0ADVOBOT", "user": BOT_USER_ID,
                                          "text": text, "blocks": blocks, "ts": message.ts}}
    if blocks and not text:
        answer["warning"] = "missing_text_in_blocks"  # the fallback notifications and screen readers use
    return answer

@method("chat.update")
def update(state: SlackState, args: dict[str, Any], token: BotToken) -> dict[str, Any]:
    channel = _channel(state, args)
    text, blocks = _message_fields(state, args)
    with state.lock:
        message = state.message(channel, str(args.get("ts") or ""))
        if message is None:
            raise ApiError("message_not_found")
        message.text, message.blocks, message.edited = text, blocks, True
    return {"channel": channel, "ts": message.ts, "text": text,
            "message": {"text": text, "blocks": blocks, "edited": {"user": BOT_USER_ID}}}

@method("views.open")
def views_open(state: SlackState, args: dict[str, Any], token: BotToken) -> dict[str, Any]:
    trigger = args.get("trigger_id")
    view = _json_arg(args, "view")
    with state.lock:
        found = state.triggers.pop(trigger, None) if isinstance(trigger, str) else None
    if found is None:
        raise ApiError("invalid_trigger_id")
    if found[1] < time.time():
        raise ApiError("expired_trigger_id")
    try:
        check_view(view)
    except Invalid as exc:
        raise ApiError("invalid_arguments", response_metadata={"messages": [str(exc)]}) from None
    record = View(id="V" + state.next_ts().replace(".", ""), user=found[0], view=view)
    with state.lock:
        state.views[record.id] = record
    return {"view": {"id": record.id, "team_id": TEAM_ID, "app_id": APP_ID, **view}}


def install_api(app: Flask, state: SlackState) -> None:
    @app.errorhandler(ApiError)
    def render(exc: ApiError) -> Response:
        return json_response(exc.body, exc.status, exc.headers)

    @app.route("/api/<name>", methods=["GET", "POST"])
    def call(name: str) -> Response:
        if name == "oauth.v2.access":
            return json_response(oauth_access(state, arguments()))
        if name not in METHODS:
            raise ApiError("unknown_method", 404)
        args = arguments()
        token = _bot_token(state, args, name)
        allowed, _ = state.take(f"{TEAM_ID}:{name}:{args.get('channel', '')}" if name == "chat.postMessage"
                                else f"{TEAM_ID}:{name}", METHOD_TIERS[name])
        if not allowed:
            raise ApiError("ratelimited", 429, {"Retry-After": "30"})
        return json_response({"ok": True, **METHODS[name](state, args, token)})
