"""The Teams sandbox's HTML: a channel's cards, rendered simply (text, images, facts, working link buttons)."""

from __future__ import annotations

import html
import time
from typing import Any

from flask import Response

from sandbox.common import e

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Teams sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f5f5f5; color: #242424; margin: 0; }}
 main {{ max-width: 40rem; margin: 1.5rem auto; padding: 0 1rem; }}
 .badge {{ font-size: .75rem; background: #5b5fc7; color: #fff; border-radius: .5rem; padding: .1rem .5rem; }}
 article {{ background: #fff; border-radius: .5rem; padding: 1rem; margin: 1rem 0; box-shadow: 0 1px 3px #0002; }}
 article img {{ max-width: 100%; border-radius: .25rem; }}
 .actions a {{ display: inline-block; margin: .25rem .25rem 0 0; padding: .4rem .9rem; border: 1px solid #5b5fc7;
   border-radius: .25rem; color: #5b5fc7; text-decoration: none; }}
 .muted {{ color: #616161; font-size: .85rem; }} .bolder {{ font-weight: 600; }} .large {{ font-size: 1.2rem; }}
 dl {{ display: grid; grid-template-columns: auto 1fr; gap: .2rem 1rem; }} dt {{ font-weight: 600; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> Microsoft Teams (Workflows) emulator</p>{body}</main></body></html>"""


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


def _action(action: dict[str, Any]) -> str:
    if action.get("type") == "Action.OpenUrl":
        return f'<a href="{e(action.get("url", ""))}" rel="noopener">{e(action.get("title", "Open"))}</a>'
    return f'<span class="muted">[{e(action.get("type"))}]</span>'


def _elements(items: list[Any]) -> str:  # noqa: C901 - one branch per element type
    out = []
    for item in items:
        kind = item.get("type")
        if kind == "TextBlock":
            large = item.get("size") in ("Large", "ExtraLarge")
            classes = " ".join(c for c in ("bolder" if item.get("weight") == "Bolder" else "",
                                           "large" if large else "", "muted" if item.get("isSubtle") else "") if c)
            out.append(f'<p class="{classes}">{e(item.get("text", ""))}</p>')
        elif kind == "Image":
            out.append(f'<img src="{e(item.get("url", ""))}" alt="{e(item.get("altText", ""))}">')
        elif kind == "Container":
            out.append(f"<div>{_elements(item.get('items', []))}</div>")
        elif kind == "ColumnSet":
            out.append("".join(f"<div>{_elements(c.get('items', []))}</div>" for c in item.get("columns", [])))
        elif kind == "FactSet":
            out.append("<dl>" + "".join(f"<dt>{e(f['title'])}</dt><dd>{e(f['value'])}</dd>"
                                        for f in item.get("facts", [])) + "</dl>")
        elif kind == "ActionSet":
            out.append('<p class="actions">' + "".join(_action(a) for a in item.get("actions", [])) + "</p>")
        else:
            out.append(f'<p class="muted">[{e(kind)}]</p>')
    return "".join(out)


def card_html(card: dict[str, Any], received_at: float) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(received_at))
    actions = "".join(_action(a) for a in card.get("actions", []))
    return (f'<article><p class="muted">{e(when)}</p>{_elements(card.get("body", []))}'
            f'<p class="actions">{actions}</p></article>')
