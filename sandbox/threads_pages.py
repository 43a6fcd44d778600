"""The Threads sandbox's HTML: the consent page (threads.com/oauth/authorize) and a post's page."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from flask import Response

from sandbox.common import e

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Threads sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #fff; color: #000; margin: 0; }}
 main {{ max-width: 34rem; margin: 3rem auto; border: 1px solid #ddd; border-radius: 1rem; padding: 2rem; }}
 .badge {{ font-size: .75rem; background: #ffd400; border-radius: .5rem; padding: .1rem .5rem; }}
 button {{ border-radius: .6rem; padding: .6rem 1.4rem; font-size: 1rem; border: 1px solid #000; cursor: pointer; }}
 button.primary {{ background: #000; color: #fff; }}
 input[type=text] {{ font-size: 1rem; padding: .5rem; width: 100%; box-sizing: border-box; }}
 .error {{ color: #c00; }} .muted {{ color: #666; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> Threads emulator</p>{body}</main></body></html>"""

AUTHORIZE_PARAMS = ("client_id", "redirect_uri", "scope", "response_type", "state")


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


def consent_page(params: Mapping[str, str], scopes: tuple[str, ...], username: str, note: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{e(params.get(k, ""))}">' for k in AUTHORIZE_PARAMS)
    items = "".join(f"<li><code>{e(s)}</code></li>" for s in scopes)
    alert = f'<p class="error" role="alert">{e(note)}</p>' if note else ""
    return f"""<h1>Allow access to your Threads profile?</h1>
<p>The app asks for:</p><ul>{items}</ul>
<p class="muted">You will be sent back to <code>{e(params.get("redirect_uri", ""))}</code>.</p>{alert}
<form method="post" action="/oauth/authorize">{hidden}
<p><label for="username">Threads username (any; the profile is created on first use)</label>
<input type="text" id="username" name="username" value="{e(username)}" required></p>
<p><button class="primary" type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="cancel" formnovalidate>Cancel</button></p></form>"""


def post_page(post: Any, username: str) -> Response:
    if post.deleted:
        return page("Deleted", f"<h1>This thread by @{e(username)} was deleted.</h1>", 410)
    card = f'<p><a href="{e(post.link_attachment)}">{e(post.link_attachment)}</a></p>' if post.link_attachment else ""
    image = (f'<p><img src="{e(post.image_url)}" alt="{e(post.alt_text or "")}" style="max-width:100%"></p>'
             if post.image_url else "")
    figures = " · ".join(f"{e(v)} {e(k)}" for k, v in post.metrics.items() if v is not None)
    return page(f"@{username}", f"<article><h1>@{e(username)}</h1><p>{e(post.text)}</p>{card}{image}"
                                f'<p class="muted">{figures}</p></article>')
