"""The Mastodon sandbox's HTML: the OAuth consent page (``/oauth/authorize``), the index and the public page per
status (``/@<username>/<id>``)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Flask, Response, request

from sandbox.common import (
    ControlError,
    e,
)
from sandbox.mastodon_core import (
    CHALLENGE,
    USERNAME,
    App,
)
from sandbox.mastodon_state import (
    MastodonState,
)
from sandbox.mastodon_views import (
    attachment_view,
    content_html,
)

# ------------------------------------------------------------------------------------------------------- pages
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Mastodon sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #191b22; color: #d9e1e8; margin: 0; }}
 main {{ max-width: 34rem; margin: 3rem auto; background: #282c37; border-radius: .5rem; padding: 2rem; }}
 .badge {{ font-size: .75rem; background: #ffd400; color: #000; border-radius: .5rem; padding: .1rem .5rem; }}
 button {{ border-radius: .3rem; padding: .6rem 1.4rem; font-size: 1rem; border: 0; cursor: pointer; }}
 button.primary {{ background: #6364ff; color: #fff; }}
 input[type=text] {{ font-size: 1rem; padding: .5rem; width: 100%; box-sizing: border-box; }}
 .error {{ color: #ff6b6b; }} .muted {{ color: #9baec8; }} a {{ color: #8c8dff; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> Mastodon emulator</p>{body}</main></body></html>"""


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                    "code_challenge_method")  # fmt: skip


def _check_authorize(state: MastodonState, params: Mapping[str, str]) -> tuple[App, tuple[str, ...], str | None]:
    """Client and redirect URI problems (shown on a page, never redirected), then (app, scopes, redirect error).

    The third value names an ``error`` for the redirect back (invalid_scope, unsupported_response_type …) once the
    client and redirect URI are known good, as Doorkeeper does.
    """
    with state.lock:
        app = state.apps.get(params.get("client_id", ""))
    if app is None:
        raise ControlError("client_id: missing or not an application registered on this server")
    if params.get("redirect_uri", "") not in app.redirect_uris:
        raise ControlError("redirect_uri: missing or not one of the redirect URIs the application registered")
    if params.get("response_type") != "code":
        return app, (), "unsupported_response_type"
    scopes = tuple(dict.fromkeys((params.get("scope") or "read").split()))
    if not set(scopes) <= set(app.scopes):
        return app, scopes, "invalid_scope"
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and (method != "S256" or not CHALLENGE.match(params["code_challenge"])):
        return app, scopes, "invalid_request"
    return app, scopes, None


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode({k: v for k, v in params.items() if v})) if q)
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})


def consent_page(params: Mapping[str, str], app: App, scopes: tuple[str, ...], username: str, note: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{e(params.get(k, ""))}">' for k in AUTHORIZE_PARAMS)
    items = "".join(f"<li><code>{e(s)}</code></li>" for s in scopes)
    alert = f'<p class="error" role="alert">{e(note)}</p>' if note else ""
    return f"""<h1>Authorization required</h1>
<p><strong>{e(app.name)}</strong> would like permission to access your account. It asks for:</p><ul>{items}</ul>
<p class="muted">You will be sent back to <code>{e(params.get("redirect_uri", ""))}</code>.</p>{alert}
<form method="post" action="/oauth/authorize">{hidden}
<p><label for="username">Logged in as (any username; the account is created on first use)</label>
<input type="text" id="username" name="username" value="{e(username)}" pattern="[A-Za-z0-9_]{{1,30}}" required></p>
<p><button class="primary" type="submit" name="decision" value="authorize">Authorize</button>
<button type="submit" name="decision" value="cancel" formnovalidate>Deny</button></p></form>"""


def _params_error(message: str) -> Response:
    name, _, detail = message.partition(":")
    body = f'<h1>An error has occurred</h1><p class="error">Invalid parameter <code>{e(name)}</code>: '
    return page("Error", body + f"{e(detail.strip())}.</p>", 400)


def _install_oauth(app: Flask, state: MastodonState) -> None:
    @app.get("/oauth/authorize")
    def authorize_page() -> Response:
        params = {k: request.args.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            registered, scopes, problem = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        if problem:
            return _redirect(params["redirect_uri"], {"error": problem, "state": params["state"]})
        username = request.args.get("username", "demo")
        return page("Authorize", consent_page(params, registered, scopes, username, ""))

    @app.post("/oauth/authorize")
    def authorize_decision() -> Response:
        params = {k: request.form.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            registered, scopes, problem = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        if problem:
            return _redirect(params["redirect_uri"], {"error": problem, "state": params["state"]})
        if request.form.get("decision") != "authorize":
            description = "The resource owner or authorization server denied the request."
            return _redirect(
                params["redirect_uri"],
                {"error": "access_denied", "error_description": description, "state": params["state"]},
            )
        username = request.form.get("username", "").strip().lstrip("@")
        if not USERNAME.match(username):
            body = consent_page(params, registered, scopes, username, "A username is 1 to 30 letters, digits or _.")
            return page("Authorize", body, 400)
        user = state.user(username)
        code = state.issue_code(
            registered.client_id, params["redirect_uri"], scopes, user, params.get("code_challenge") or None
        )
        return _redirect(params["redirect_uri"], {"code": code, "state": params["state"]})


def _install_pages(app: Flask, state: MastodonState) -> None:
    @app.get("/")
    def index() -> Response:
        with state.lock:
            statuses = sorted(state.statuses.values(), key=lambda s: int(s.id), reverse=True)[:50]
            authors = {s.id: getattr(state.user_by_id(s.author_id), "username", "unknown") for s in statuses}
        rows = "".join(
            f'<li><a href="/@{e(authors[s.id])}/{s.id}">'
            f"{e(s.text[:80])}</a>{' (deleted)' if s.deleted else ''}</li>"
            for s in statuses
        )
        return page("Posts", f"<h1>Latest posts</h1><ul>{rows or '<li>No posts yet.</li>'}</ul>")

    @app.get("/@<username>/<status_id>")
    def status_page(username: str, status_id: str) -> Response:
        with state.lock:
            status = state.statuses.get(status_id)
            author = state.user_by_id(status.author_id) if status else None
        if status is None or author is None or author.username.lower() != username.lower():
            return page("Not found", "<h1>The page you are looking for isn't here.</h1>", 404)
        if status.deleted:
            return page("Deleted", f"<h1>This post by @{e(author.username)} was deleted.</h1>", 410)
        shown = {k.removesuffix("_count"): v for k, v in status.metrics.items() if v is not None}
        figures = " · ".join(f"{e(v)} {e(k)}" for k, v in shown.items())
        with state.lock:
            shown_media = [state.attachments[i] for i in status.media_ids]
        images = "".join(f'<p><img src="{e(attachment_view(a)["url"])}" alt="{e(a.description or "")}" '
                         'style="max-width:100%"></p>' for a in shown_media)
        body = (
            f"<article><h1>@{e(author.username)}</h1>{content_html(status.text)}{images}"
            f'<p class="muted"><time datetime="{e(status.created_at)}">{e(status.created_at)}</time></p>'
            f'<p class="muted">{figures}</p></article>'
        )
        return page(f"@{author.username}", body)
