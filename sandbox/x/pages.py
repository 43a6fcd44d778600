"""The X sandbox's HTML: the consent page and the public post pages."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Flask, Response, request

from sandbox.x.core import CHALLENGE, HANDLE, SCOPES, URL_IN_TEXT, ControlError
from sandbox.x.state import XState
from sandbox.x.web import _metrics_view

# ------------------------------------------------------------------------------------------------------- pages
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · X sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f5f8fa; color: #0f1419; margin: 0; }}
 main {{ max-width: 34rem; margin: 3rem auto; background: #fff; border-radius: 1rem; padding: 2rem;
        box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
 .badge {{ font-size: .75rem; background: #ffd400; border-radius: .5rem; padding: .1rem .5rem; }}
 button {{ border-radius: 2rem; padding: .6rem 1.4rem; font-size: 1rem; border: 1px solid #cfd9de; cursor: pointer; }}
 button.primary {{ background: #0f1419; color: #fff; border-color: #0f1419; }}
 input[type=text] {{ font-size: 1rem; padding: .5rem; width: 100%; box-sizing: border-box; }}
 .error {{ color: #b00020; }} .muted {{ color: #536471; }} li {{ margin: .3rem 0; }}
 article p {{ font-size: 1.25rem; white-space: pre-wrap; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> X API v2 emulator</p>{body}</main></body></html>"""


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


AUTHORIZE_PARAMS = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"
)  # fmt: skip


def _check_authorize(state: XState, params: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """Validate an authorization request; returns (client name, scopes) or raises ControlError naming the parameter."""
    client_name = state.client_name(params.get("client_id", ""))
    if client_name is None:
        raise ControlError("client_id: missing or not a client registered with this app")
    target = urlsplit(params.get("redirect_uri", ""))
    if target.scheme not in ("http", "https") or not target.netloc or target.fragment:
        raise ControlError("redirect_uri: missing or not an absolute http(s) URL without fragment")
    if params.get("response_type") != "code":
        raise ControlError("response_type: must be code")
    scopes = tuple(sorted(set(params.get("scope", "").split())))
    if not scopes:
        raise ControlError("scope: missing")
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        raise ControlError(f"scope: unknown scope(s) {', '.join(unknown)}")
    if not params.get("state") or len(params["state"]) > 500:
        raise ControlError("state: missing or longer than 500 characters")
    if not CHALLENGE.match(params.get("code_challenge", "")):
        raise ControlError("code_challenge: missing or not a base64url SHA-256 digest (43 characters)")
    if params.get("code_challenge_method") != "S256":
        raise ControlError("code_challenge_method: must be S256")
    return client_name, scopes


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})


def consent_page(params: Mapping[str, str], client: str, scopes: tuple[str, ...], username: str, error: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{_e(params.get(k, ""))}">' for k in AUTHORIZE_PARAMS)
    items = "".join(f"<li><code>{_e(s)}</code></li>" for s in scopes)
    note = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
    return f"""<h1>Authorize {_e(client)} to access your account?</h1>
<p class="muted">Client id <code>{_e(params.get("client_id", ""))}</code> asks for:</p><ul>{items}</ul>
<p class="muted">You will be sent back to <code>{_e(params.get("redirect_uri", ""))}</code>.</p>{note}
<form method="post" action="/i/oauth2/authorize">{hidden}
<p><label for="username">Sign in as (any handle; the account is created on first use)</label>
<input type="text" id="username" name="username" value="{_e(username)}" pattern="[A-Za-z0-9_]{{1,15}}" required></p>
<p><button class="primary" type="submit" name="decision" value="authorize">Authorize app</button>
<button type="submit" name="decision" value="cancel" formnovalidate>Cancel</button></p></form>"""


def _params_error(message: str) -> Response:
    name = message.partition(":")[0]
    body = f'<h1>Something went wrong</h1><p class="error">Invalid parameter <code>{_e(name)}</code>: '
    return page("Error", body + f"{_e(message.partition(':')[2].strip())}.</p>", 400)


def _install_consent(app: Flask, state: XState) -> None:
    @app.get("/i/oauth2/authorize")
    def authorize_page() -> Response:
        params = {k: request.args.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            client, scopes = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        return page("Authorize app", consent_page(params, client, scopes, request.args.get("username", "demo"), ""))

    @app.post("/i/oauth2/authorize")
    def authorize_decision() -> Response:
        params = {k: request.form.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            client, scopes = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        if request.form.get("decision") != "authorize":
            return _redirect(params["redirect_uri"], {"error": "access_denied", "state": params["state"]})
        username = request.form.get("username", "").strip().lstrip("@")
        if not HANDLE.match(username):
            body = consent_page(params, client, scopes, username, "A handle is 1 to 15 letters, digits or _.")
            return page("Authorize app", body, 400)
        user = state.user(username)
        code = state.issue_code(params["client_id"], params["redirect_uri"], params["code_challenge"], scopes, user)
        return _redirect(params["redirect_uri"], {"state": params["state"], "code": code})


def _install_pages(app: Flask, state: XState) -> None:
    @app.get("/")
    def index() -> Response:
        with state.lock:
            posts = sorted(state.posts.values(), key=lambda p: p.id, reverse=True)[:50]
            rows = "".join(
                f'<li><a href="/i/web/status/{p.id}">{_e(p.text[:80])}</a>{" (deleted)" if p.deleted else ""}</li>'
                for p in posts
            )
        return page("Posts", f"<h1>Latest posts</h1><ul>{rows or '<li>No posts yet.</li>'}</ul>")

    @app.get("/i/web/status/<post_id>")
    def status_page(post_id: str) -> Response:
        with state.lock:
            post = state.posts.get(post_id)
            author = state.user_by_id(post.author_id) if post else None
        if post is None:
            return page("Not found", "<h1>Hmm… this page doesn’t exist.</h1><p>No post has this id.</p>", 404)
        handle = author.handle if author else "unknown"
        if post.deleted:
            return page("Deleted", f"<h1>This post was deleted by @{_e(handle)}.</h1>", 410)
        figures = " · ".join(f"{_e(v)} {_e(k.removesuffix('_count'))}" for k, v in _metrics_view(post).items())
        images = "".join(f'<p><img src="/i/media/{_e(m["media_key"])}" alt="{_e(m["alt_text"] or "")}" '
                         'style="max-width:100%;border-radius:1rem"></p>' for m in post.media)
        body = (
            f"<article><h1>@{_e(handle)}</h1><p>{_linkify(post.text)}</p>{images}"
            f'<p class="muted"><time datetime="{_e(post.created_at)}">{_e(post.created_at)}</time></p>'
            f'<p class="muted">{figures}</p></article>'
        )
        return page(f"@{handle}", body)


def _linkify(text: str) -> str:
    out, pos = [], 0
    for match in URL_IN_TEXT.finditer(text):
        url = match.group(0).rstrip(".,;:!?)'\"")
        href = url if url.lower().startswith("http") else "https://" + url
        out += [html.escape(text[pos : match.start()]), f'<a href="{_e(href)}" rel="nofollow">{_e(url)}</a>']
        pos = match.start() + len(url)
    return "".join(out) + html.escape(text[pos:])
