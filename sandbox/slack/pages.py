"""The Slack sandbox's HTML: the OAuth v2 consent page (slack.com/oauth/v2/authorize) and ``/messages``, each
member's DMs from the app rendered from their blocks, with buttons that click as Slack would (a signed POST to the
app) and open modals as forms."""

from __future__ import annotations

import html
import re
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, redirect, request

from sandbox.common import ControlError, e
from sandbox.slack.interact import click, submit_view
from sandbox.slack.state import KNOWN_SCOPES, Grant, Message, SlackState

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Slack sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f8f8f8; color: #1d1c1d; margin: 0; }}
 main {{ max-width: 46rem; margin: 1.5rem auto; padding: 0 1rem; }}
 .badge {{ font-size: .75rem; background: #4a154b; color: #fff; border-radius: .5rem; padding: .1rem .5rem; }}
 section.member, .card {{ background: #fff; border: 1px solid #ddd; border-radius: .6rem; padding: 1rem;
   margin: 1rem 0; }}
 .msg {{ border-left: 3px solid #4a154b; padding: .25rem .75rem; margin: .75rem 0; overflow-wrap: anywhere; }}
 .msg.ephemeral {{ border-color: #999; background: #f4f4f4; }}
 .actions {{ display: flex; flex-wrap: wrap; gap: .5rem; }}
 .actions form {{ margin: 0; }}
 button, a.button {{ border-radius: .4rem; padding: .45rem .9rem; font-size: .95rem; border: 1px solid #bbb;
   background: #fff; cursor: pointer; color: inherit; text-decoration: none; display: inline-block; }}
 button.primary {{ background: #007a5a; color: #fff; border-color: #007a5a; }}
 button.danger {{ background: #e01e5a; color: #fff; border-color: #e01e5a; }}
 .muted, .context {{ color: #616061; font-size: .85rem; }} .error {{ color: #c00; }}
 textarea, input[type=text] {{ width: 100%; box-sizing: border-box; font-size: 1rem; padding: .4rem; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> Slack emulator · <a href="/messages">Direct messages</a></p>
{body}</main></body></html>"""

AUTHORIZE_PARAMS = ("client_id", "scope", "user_scope", "redirect_uri", "state", "team")


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


def mrkdwn(text: str) -> str:
    """Slack's mrkdwn, enough to read: ``<url|label>`` links, ``*bold*``, ``_italic_``, line breaks."""
    out = e(text)
    out = re.sub(r"&lt;(https?://[^|&]+?)\|(.+?)&gt;", r'<a href="\1">\2</a>', out)
    out = re.sub(r"&lt;(https?://[^&]+?)&gt;", r'<a href="\1">\1</a>', out)
    out = re.sub(r"(?<![\w*])\*(\S[^*\n]*?)\*(?![\w*])", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w_])_(\S[^_\n]*?)_(?![\w_])", r"<em>\1</em>", out)
    return out.replace("\n", "<br>")


def _text(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    return mrkdwn(obj["text"]) if obj.get("type") == "mrkdwn" else e(obj.get("text", ""))


def _button(message: Message, element: dict[str, Any]) -> str:
    label = e(element["text"]["text"])
    if element.get("url"):
        return f'<a class="button" href="{e(element["url"])}" target="_blank" rel="noopener">{label} ↗</a>'
    style = f' class="{e(element["style"])}"' if element.get("style") else ""
    return (f'<form method="post" action="/messages/click"><input type="hidden" name="channel" '
            f'value="{e(message.channel)}"><input type="hidden" name="ts" value="{e(message.ts)}">'
            f'<input type="hidden" name="action_id" value="{e(element.get("action_id", ""))}">'
            f'<button type="submit"{style}>{label}</button></form>')


def render_message(message: Message) -> str:
    parts = []
    for block in message.blocks:
        kind = block["type"]
        if kind == "header":
            parts.append(f"<h3>{_text(block['text'])}</h3>")
        elif kind == "section":
            parts.append(f"<p>{_text(block.get('text'))}</p>")
            parts.extend(f"<p>{_text(f)}</p>" for f in block.get("fields", []))
            if block.get("accessory", {}).get("type") == "button":
                parts.append(f'<div class="actions">{_button(message, block["accessory"])}</div>')
        elif kind == "context":
            parts.append(f'<p class="context">{" · ".join(_text(x) for x in block["elements"])}</p>')
        elif kind == "actions":
            parts.append(f'<div class="actions">{"".join(_button(message, b) for b in block["elements"])}</div>')
        elif kind == "divider":
            parts.append("<hr>")
        elif kind == "image":
            parts.append(f'<p><img src="{e(block["image_url"])}" alt="{e(block["alt_text"])}" '
                         'style="max-width:100%"></p>')
    body = "".join(parts) or f"<p>{mrkdwn(message.text)}</p>"
    when = time.strftime("%H:%M:%S", time.gmtime(float(message.ts)))
    note = " · only visible to you" if message.ephemeral_for else (" · edited" if message.edited else "")
    css = "msg ephemeral" if message.ephemeral_for else "msg"
    return (f'<article class="{css}" data-ts="{e(message.ts)}"><p class="muted">advocacy APP {when} UTC{note}</p>'
            f"{body}</article>")


def _modal(view_id: str, view: dict[str, Any]) -> str:
    inputs = []
    for block in view.get("blocks", []):
        if block.get("type") == "input":
            element = block["element"]
            name = f"{block.get('block_id', '')}|{element.get('action_id', '')}"
            field = (f'<textarea name="{e(name)}" rows="3" required></textarea>' if element.get("multiline") else
                     f'<input type="text" name="{e(name)}" required>')
            inputs.append(f"<label>{_text(block['label'])}{field}</label>")
        elif block.get("type") in ("section", "context"):
            inputs.append(f"<p>{_text(block.get('text') or (block.get('elements') or [None])[0])}</p>")
    submit = e(view.get("submit", {}).get("text", "Submit"))
    return (f'<form class="card" method="post" action="/messages/views/{e(view_id)}/submit">'
            f"<h3>{_text(view.get('title'))}</h3>{''.join(inputs)}"
            f'<p><button class="primary" type="submit">{submit}</button></p></form>')


def _authorize_problem(state: SlackState, params: dict[str, str]) -> str:
    if params["client_id"] != state.config.client_id:
        return "Invalid client_id parameter"
    scopes = [s for s in params["scope"].split(",") if s]
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if not scopes or unknown:
        return f"Invalid permissions requested: {', '.join(unknown) or 'none'}"
    uri = params["redirect_uri"]
    allowed = state.config.redirect_uris.split()
    if urlsplit(uri).scheme not in ("http", "https") or (allowed and uri not in allowed):
        return "redirect_uri did not match any configured URIs"
    return ""


def install_pages(app: Flask, state: SlackState) -> None:
    @app.get("/oauth/v2/authorize")
    def authorize() -> Response:
        params = {k: request.args.get(k, "") for k in AUTHORIZE_PARAMS}
        problem = _authorize_problem(state, params)
        if problem:
            return page("Something went wrong", f'<h1 class="error">{e(problem)}</h1>', 400)
        hidden = "".join(f'<input type="hidden" name="{k}" value="{e(v)}">' for k, v in params.items())
        items = "".join(f"<li><code>{e(s)}</code></li>" for s in params["scope"].split(","))
        return page("Install", f"""<section class="card"><h1>advocacy is requesting permission to access the
{e(state.config.team_name)} Slack workspace</h1><p>What will advocacy be able to view and do?</p><ul>{items}</ul>
<form method="post" action="/oauth/v2/authorize">{hidden}
<p><button class="primary" type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="cancel">Cancel</button></p></form></section>""")

    @app.post("/oauth/v2/authorize")
    def decide() -> Response:
        params = {k: request.form.get(k, "") for k in AUTHORIZE_PARAMS}
        problem = _authorize_problem(state, params)
        if problem:
            return page("Something went wrong", f'<h1 class="error">{e(problem)}</h1>', 400)
        back: dict[str, str] = {"state": params["state"]}
        if request.form.get("decision") == "allow":
            code = f"{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
            with state.lock:
                state.grants[code] = Grant(params["redirect_uri"], tuple(params["scope"].split(",")),
                                           time.time() + state.config.code_lifetime)
            back = {"code": code} | back
        else:
            back = {"error": "access_denied"} | back
        sep = "&" if "?" in params["redirect_uri"] else "?"
        return redirect(params["redirect_uri"] + sep + urlencode(back), 302)  # type: ignore[return-value]

    @app.get("/")
    @app.get("/messages")
    def messages() -> Response:
        notice = request.args.get("notice", "")
        sections = []
        with state.lock:
            members = sorted(state.members.values(), key=lambda m: m.email)
            for member in members:
                channel = state.ims.get(member.id)
                shown = [m for m in state.messages if channel and m.channel == channel
                         and m.ephemeral_for in (None, member.id)]
                views = [_modal(v.id, v.view) for v in state.views.values() if v.user == member.id and v.open]
                items = "".join(render_message(m) for m in reversed(shown)) or '<p class="muted">No messages.</p>'
                gone = " · deactivated" if member.deleted else ""
                sections.append(f'<section class="member" id="{e(member.id)}"><h2>{e(member.name)} '
                                f'<span class="muted">{e(member.email)}{gone}</span></h2>{"".join(views)}'
                                f"{items}</section>")
        alert = f'<p class="card" role="status">{e(notice)}</p>' if notice else ""
        intro = ("<h1>Direct messages from the app</h1><p class=\"muted\">Each member of the workspace and what the "
                 "advocacy app sent them, newest first. Buttons click as in Slack: a signed request to the app.</p>")
        return page("Direct messages", intro + alert + "".join(sections))

    @app.post("/messages/click")
    def click_button() -> Response:
        f = request.form
        try:
            result = click(state, request.host_url.rstrip("/"), f.get("channel", ""), f.get("ts", ""),
                           f.get("action_id", ""))
        except ControlError as exc:
            return redirect("/messages?" + urlencode({"notice": str(exc)}))  # type: ignore[return-value]
        owner = state.owner_of(f.get("channel", "")) or ""
        notice = f"Clicked; the app answered {result['status']}."
        return redirect(f"/messages?{urlencode({'notice': notice})}#{owner}")  # type: ignore[return-value]

    @app.post("/messages/views/<view_id>/submit")
    def submit_form(view_id: str) -> Response:
        values: dict[str, dict[str, str]] = {}
        for name, value in request.form.items():
            block, _, action = name.partition("|")
            values.setdefault(block, {})[action] = value
        try:
            result = submit_view(state, view_id, values)
        except ControlError as exc:
            return redirect("/messages?" + urlencode({"notice": str(exc)}))  # type: ignore[return-value]
        return redirect("/messages?" + urlencode(  # type: ignore[return-value]
            {"notice": f"Submitted; the app answered {result['status']}."}))
