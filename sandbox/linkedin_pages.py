"""The LinkedIn sandbox's HTML: the consent page (``/oauth/v2/authorization``), the index, the public post page
(``/feed/update/<urn>/``) and the share dialog (``/sharing/share-offsite/``)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Flask, Response, request

from sandbox.linkedin_core import (
    HANDLE,
    ControlError,
)
from sandbox.linkedin_state import (
    LinkedInState,
)
from sandbox.schemas.linkedin import (
    SCOPES,
)

# ------------------------------------------------------------------------------------------------------- pages
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · LinkedIn sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f4f2ee; color: #1d2226; margin: 0; }}
 main {{ max-width: 36rem; margin: 3rem auto; background: #fff; border-radius: .6rem; padding: 2rem;
        box-shadow: 0 0 0 1px rgba(0,0,0,.08); }}
 .badge {{ font-size: .75rem; background: #0a66c2; color: #fff; border-radius: .3rem; padding: .1rem .5rem; }}
 button {{ border-radius: 2rem; padding: .6rem 1.4rem; font-size: 1rem; border: 1px solid #0a66c2; cursor: pointer;
          background: #fff; color: #0a66c2; }}
 button.primary {{ background: #0a66c2; color: #fff; }}
 input[type=text], select {{ font-size: 1rem; padding: .5rem; width: 100%; box-sizing: border-box; }}
 .error {{ color: #b24020; }} .muted {{ color: #666; }} li {{ margin: .3rem 0; }}
 article p {{ font-size: 1.1rem; white-space: pre-wrap; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> LinkedIn API emulator</p>{body}</main></body></html>"""
AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state")


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})


def _check_authorize(state: LinkedInState, params: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """Validate an authorization request; returns (client name, scopes) or raises ControlError naming the parameter.

    Unknown scopes are not an error here: LinkedIn sends those back to the app as ``unauthorized_scope_error``.
    """
    if params.get("response_type") != "code":
        raise ControlError("response_type: must be code")
    client_name = state.client_name(params.get("client_id", ""))
    if client_name is None:
        raise ControlError("client_id: missing or not a client registered with this app")
    target = urlsplit(params.get("redirect_uri", ""))
    if target.scheme not in ("http", "https") or not target.netloc or target.fragment:
        raise ControlError("redirect_uri: missing or not an absolute http(s) URL without fragment")
    scopes = tuple(sorted(set(params.get("scope", "").replace(",", " ").split())))
    if not scopes:
        raise ControlError("scope: missing")
    return client_name, scopes


def consent_page(params: Mapping[str, str], client: str, scopes: tuple[str, ...], username: str, error: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{_e(params.get(k, ""))}">' for k in AUTHORIZE_PARAMS)
    items = "".join(f"<li><code>{_e(s)}</code></li>" for s in scopes)
    note = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
    extra = ""
    if "r_member_postAnalytics" not in scopes:
        extra = """<p><label for="extra_scope">Also grant post analytics (as for an app approved for LinkedIn's
Community Management API)</label><select id="extra_scope" name="extra_scope"><option value="">No</option>
<option value="r_member_postAnalytics">Yes: r_member_postAnalytics</option></select></p>"""
    return f"""<h1>{_e(client)} would like to access your LinkedIn account</h1>
<p class="muted">Client id <code>{_e(params.get("client_id", ""))}</code> asks for:</p><ul>{items}</ul>
<p class="muted">You will be sent back to <code>{_e(params.get("redirect_uri", ""))}</code>.</p>{note}
<form method="post" action="/oauth/v2/authorization">{hidden}
<p><label for="username">Sign in as (any name; the member is created on first use)</label>
<input type="text" id="username" name="username" value="{_e(username)}" pattern="[A-Za-z0-9_.\\-]{{1,40}}" required></p>
{extra}<p><button class="primary" type="submit" name="decision" value="authorize">Allow</button>
<button type="submit" name="decision" value="cancel" formnovalidate>Cancel</button></p></form>"""


def _params_error(message: str) -> Response:
    name, _, problem = message.partition(":")
    body = f'<h1>Something went wrong</h1><p class="error">Invalid parameter <code>{_e(name)}</code>: '
    return page("Error", body + f"{_e(problem.strip())}.</p>", 400)


def _install_consent(app: Flask, state: LinkedInState) -> None:
    @app.get("/oauth/v2/authorization")
    def authorize_page() -> Response:
        params = {k: request.args.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            client, scopes = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        unknown = sorted(set(scopes) - SCOPES)
        if unknown:  # LinkedIn sends the person straight back to the app
            return _redirect(params["redirect_uri"], {
                "error": "unauthorized_scope_error",
                "error_description": f'Scope "{unknown[0]}" is not authorized for your application',
                "state": params["state"]})  # fmt: skip
        return page("Sign in", consent_page(params, client, scopes, request.args.get("username", "demo"), ""))

    @app.post("/oauth/v2/authorization")
    def authorize_decision() -> Response:
        params = {k: request.form.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            client, scopes = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        if request.form.get("decision") != "authorize":
            return _redirect(params["redirect_uri"], {
                "error": "user_cancelled_authorize", "error_description": "The user cancelled the authorization",
                "state": params["state"]})  # fmt: skip
        username = request.form.get("username", "").strip()
        if not HANDLE.match(username):
            body = consent_page(params, client, scopes, username, "A name is 1 to 40 letters, digits, _ . or -.")
            return page("Sign in", body, 400)
        extra = request.form.get("extra_scope", "")
        if extra and extra != "r_member_postAnalytics":
            return _params_error("extra_scope: only r_member_postAnalytics can be added here")
        granted = tuple(sorted(set(scopes) | ({extra} if extra else set())))
        code = state.issue_code(params["client_id"], params["redirect_uri"], granted, state.user(username))
        answer = {"code": code, **({"state": params["state"]} if params["state"] else {})}
        return _redirect(params["redirect_uri"], answer)


def _install_pages(app: Flask, state: LinkedInState) -> None:
    @app.get("/")
    def index() -> Response:
        with state.lock:
            posts = sorted(state.posts.values(), key=lambda p: p.id, reverse=True)[:50]
            rows = "".join(
                f'<li><a href="/feed/update/{_e(p.id)}/">{_e(p.text[:80])}</a>{" (deleted)" if p.deleted else ""}</li>'
                for p in posts
            )
        return page("Posts", f"<h1>Latest posts</h1><ul>{rows or '<li>No posts yet.</li>'}</ul>")

    @app.get("/feed/update/<path:urn>/")
    def post_page(urn: str) -> Response:
        with state.lock:
            post = state.posts.get(urn)
            author = state.user_by_id(post.author_id) if post else None
        if post is None:
            return page("Not found", "<h1>This post cannot be displayed</h1>", 404)
        if post.deleted:
            return page("Deleted", "<h1>This post has been deleted</h1>", 410)
        article = (post.body.get("content") or {}).get("article") or {}
        card = (f'<p><a href="{_e(article["source"])}" rel="nofollow">{_e(article.get("title") or article["source"])}'
                "</a></p>") if article else ""  # fmt: skip
        card += "".join(f'<p><img src="/dms/image/{_e(m["id"].rsplit(":", 1)[1])}" alt="{_e(m["alt_text"] or "")}" '
                        'style="max-width:100%"></p>' for m in state.post_media(post))  # fmt: skip
        body = (f"<article><h1>{_e(author.name if author else 'LinkedIn member')}</h1><p>{_e(post.text)}</p>{card}"
                f'<p class="muted"><time datetime="{_e(post.created_at)}">{_e(post.created_at)}</time></p></article>')
        return page(author.name if author else "Post", body)

    @app.get("/sharing/share-offsite/")
    def share_offsite() -> Response:
        url = request.args.get("url", "")
        target = urlsplit(url)
        if target.scheme not in ("http", "https") or not target.netloc:
            return _params_error("url: missing or not an absolute http(s) URL")
        body = (f'<h1>Share on LinkedIn</h1><p class="muted">The share dialog of the network (sandbox): the member '
                f'writes and posts here; the app that sent them learns nothing more.</p>'
                f'<p>Link: <a id="shared-url" href="{_e(url)}" rel="nofollow">{_e(url)}</a></p>')
        return page("Share", body)
