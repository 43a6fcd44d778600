"""The Web Push sandbox's page: each subscribed browser and the notifications it received, decrypted."""

from __future__ import annotations

import time
from typing import Any

from flask import Response

from sandbox.common import e

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Push notifications · Web Push sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f6f6f6; color: #1f2328; margin: 0; }}
 main {{ max-width: 40rem; margin: 1.5rem auto; padding: 0 1rem; }}
 .badge {{ font-size: .75rem; background: #1f2328; color: #fff; border-radius: .5rem; padding: .1rem .5rem; }}
 section {{ background: #fff; border-radius: .75rem; padding: 1rem; margin: 1rem 0; box-shadow: 0 1px 3px #0002; }}
 .note {{ border-left: 3px solid #0a58ca; padding: .25rem .75rem; margin: .75rem 0; }}
 .muted {{ color: #656d76; font-size: .85rem; }} .title {{ font-weight: 600; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> Web Push service and subscribed browsers</p>
<h1>Push notifications</h1>{body}</main></body></html>"""


def _note(message: Any) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(message.received_at))
    data = message.data or {}
    url = data.get("url")
    link = f'<p><a href="{e(url)}">{e(url)}</a></p>' if isinstance(url, str) else ""
    if not data:
        return f'<div class="note"><p class="muted">{e(when)}</p><p>{e(message.text) or "(no payload)"}</p></div>'
    return (f'<div class="note"><p class="muted">{e(when)}</p><p class="title">{e(data.get("title", ""))}</p>'
            f'<p>{e(data.get("body", ""))}</p>{link}</div>')


def index_page(subscriptions: list[Any], messages: list[Any]) -> Response:
    sections = []
    for sub in subscriptions:
        mine = [m for m in messages if m.subscription_id == sub.id]
        notes = "".join(_note(m) for m in reversed(mine)) or '<p class="muted">Nothing received yet.</p>'
        gone = " · unsubscribed" if sub.deleted else ""
        sections.append(f'<section><h2>{e(sub.name)}</h2><p class="muted">{len(mine)} received{gone}</p>'
                        f"{notes}</section>")
    body = "".join(sections) or "<p>No browser has subscribed yet.</p>"
    return Response(PAGE.format(body=body), mimetype="text/html")
