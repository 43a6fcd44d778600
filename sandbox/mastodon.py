"""A local emulation of one Mastodon server, faithful enough that requests-oauthlib and our connector cannot tell.

Endpoints: app registration (``POST /api/v1/apps``), the OAuth consent page and token endpoints (authorization code,
optional PKCE S256, client credentials, revocation; tokens do not expire, as on Mastodon),
``GET /api/v1/accounts/verify_credentials``, ``POST /api/v1/statuses`` (with ``Idempotency-Key`` and
``media_ids``), ``GET|DELETE /api/v1/statuses/<id>``, an account's statuses (``GET /api/v1/accounts/<id>/statuses``,
newest first, paged by ``max_id``/``since_id``/``min_id`` and ``limit`` with Mastodon's ``Link`` header), image
upload (``POST /api/v2/media``: 200 when processed at once, 202 while processing, then ``GET /api/v1/media/<id>``
answers 206 until done), a public page per status (``/@<username>/<id>``), and the JSON control API under
``/_sandbox/`` (the same endpoints and shapes as the X sandbox). Rate limits answer with Mastodon's
``X-RateLimit-*`` headers, the reset as an ISO-8601 timestamp. Run it with ``sandbox.runner``.

Modules: ``mastodon_core`` (constants, records, error answers), ``mastodon_state`` (what the server remembers),
``mastodon_views`` (entities as the API renders them), ``mastodon_web`` (helpers the routes share),
``mastodon_pages`` (HTML: the consent page, the public status pages), ``mastodon_media`` (uploads) and this module
(the Flask app: hooks, app registration, tokens, statuses, control). This module re-exports their public names, so
``sandbox.mastodon`` reads as one module.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, request

from sandbox.common import (
    ControlError,
    Fault,
    control_body,
    install_control,
    install_faults,
    json_response,
    utc_iso,
)
from sandbox.mastodon_core import (  # noqa: F401 (the module's public names)
    _APP_SCHEMA,
    _TOKEN_SCHEMA,
    CHALLENGE,
    DEFAULT_RATE_LIMITS,
    ENDPOINT_SCOPES,
    INVALID_CLIENT,
    INVALID_GRANT,
    METRIC_NAMES,
    NOT_READY,
    OOB,
    SCOPES,
    URL_IN_TEXT,
    USERNAME,
    AccessToken,
    ApiError,
    App,
    Attachment,
    Config,
    Grant,
    Status,
    User,
    countable_length,
    error,
    reset_header,
)
from sandbox.mastodon_media import (
    _install_media,
)
from sandbox.mastodon_pages import (  # noqa: F401 (the module's public names)
    AUTHORIZE_PARAMS,
    PAGE,
    _install_oauth,
    _install_pages,
    consent_page,
    page,
)
from sandbox.mastodon_state import (  # noqa: F401 (the module's public names)
    MastodonState,
)
from sandbox.mastodon_views import (  # noqa: F401 (the module's public names)
    account_view,
    attachment_view,
    base_url,
    content_html,
    image_size,
    status_view,
)
from sandbox.mastodon_web import (
    _authorized,
    _checked_status_body,
    _client_credentials,
    _page_links,
    _params,
    _statuses_page,
    _validation_failed,
)


# ---------------------------------------------------------------------------------------------------------- app
def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Mastodon sandbox (one server).

    Control API (JSON): ``GET /_sandbox/posts`` (each with its ``media``), ``POST /_sandbox/posts/<id>/metrics``,
    ``POST /_sandbox/reset``, ``GET|POST|DELETE /_sandbox/faults``, ``GET|POST /_sandbox/users``,
    ``POST /_sandbox/tokens/expire``, ``POST /_sandbox/tokens/revoke``, ``GET|POST /_sandbox/config``; plus
    ``GET /_sandbox/apps``, ``GET /_sandbox/media`` (the uploads) and ``POST /_sandbox/idempotency/expire``
    (``{"handle"}`` optional: the stored ``Idempotency-Key`` values are forgotten, as after an hour), and
    ``POST /_sandbox/clock`` (``{"advance": seconds}``: moves the server's clock on, e.g. past a key's hour).

    Args:
        config: initial settings, the same keys ``POST /_sandbox/config`` takes.
    """
    app = Flask(__name__)
    state = MastodonState(config)
    app.extensions["mastodon_sandbox"] = state
    _install_hooks(app, state)
    _install_apps(app, state)
    _install_oauth(app, state)
    _install_tokens(app, state)
    _install_api(app, state)
    _install_media(app, state)
    _install_pages(app, state)
    install_control(app, state)
    return app


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path.startswith("/oauth/token") or path.startswith("/oauth/revoke")


def fault_response(fault: Fault) -> Response:
    headers = dict(fault.headers)
    if fault.status == 429:
        headers.setdefault("X-RateLimit-Limit", "300")
        headers.setdefault("X-RateLimit-Remaining", "0")
        headers.setdefault("X-RateLimit-Reset", reset_header(time.time() + fault.reset_in))
    if fault.body is not None:
        return Response(fault.body, fault.status or 200, headers=headers, mimetype=fault.content_type or "text/html")
    status = fault.status or 500
    message = "Too many requests" if status == 429 else _PHRASES.get(status, "Unexpected error")
    return json_response({"error": message}, status, headers)


_PHRASES = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}


def _install_hooks(app: Flask, state: MastodonState) -> None:
    install_faults(app, state, is_api=_is_api, fault_response=fault_response)

    @app.errorhandler(ApiError)
    def render_api_error(exc: ApiError) -> Response:
        return json_response(exc.body, exc.status, exc.headers)

    @app.errorhandler(404)
    def unknown_route(exc: Exception) -> Response:
        if request.path.startswith("/api/"):
            return json_response({"error": "Record not found"}, 404)
        return page("Not found", "<h1>The page you are looking for isn't here.</h1>", 404)

    @app.errorhandler(405)
    def wrong_method(exc: Exception) -> Response:
        return json_response({"error": "Method not allowed"}, 405)


def _install_apps(app: Flask, state: MastodonState) -> None:
    @app.post("/api/v1/apps")
    def create_app_registration() -> Response:
        g.rate_headers = state.rate_headers([(request.remote_addr or "?", "unauthenticated", 1)])
        body = _params()
        if isinstance(body.get("redirect_uris"), str):  # Mastodon also takes one string, URIs split by whitespace
            body = {**body, "redirect_uris": body["redirect_uris"].split()}
        _validation_failed(_APP_SCHEMA, body)
        name = body["client_name"].strip()
        if not name:
            raise error(422, "Validation failed: Application name can't be blank")
        if len(name) > 60:
            raise error(422, "Validation failed: Application name is too long (maximum is 60 characters)")
        uris = body["redirect_uris"]
        if not uris:
            raise error(422, "Validation failed: Redirect URI can't be blank")
        for uri in uris:
            parts = urlsplit(uri)
            if uri != OOB and (not parts.scheme or not parts.netloc or parts.fragment):
                raise error(422, "Validation failed: Redirect URI must be an absolute URI.")
        scopes = tuple(dict.fromkeys(str(body.get("scopes") or "read").split()))
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown:
            raise error(422, "Validation failed: Scopes are invalid")
        website = body.get("website") or None
        registered = state.register_app(name, list(uris), scopes, website)
        return json_response(
            {
                "id": registered.id,
                "name": registered.name,
                "website": registered.website,
                "scopes": list(registered.scopes),
                "redirect_uri": "\n".join(registered.redirect_uris),
                "redirect_uris": registered.redirect_uris,
                "client_id": registered.client_id,
                "client_secret": registered.client_secret,
                "client_secret_expires_at": 0,
                "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
            }
        )

    @app.get("/_sandbox/apps")
    def list_apps() -> Response:
        with state.lock:
            apps = [dataclasses.asdict(a) | {"client_secret": "…"} for a in state.apps.values()]
        return json_response({"apps": apps})


def _install_tokens(app: Flask, state: MastodonState) -> None:
    @app.post("/oauth/token")
    def token() -> Response:
        g.rate_headers = state.rate_headers([(request.remote_addr or "?", "unauthenticated", 1)])
        body = _params()
        if "grant_type" not in body:
            raise error(400, "invalid_request", "Missing required parameter: grant_type.")
        bad = next(iter(_TOKEN_SCHEMA.iter_errors(body)), None)
        if bad is not None:
            where = ".".join(map(str, bad.absolute_path)) or "body"
            raise error(
                400,
                "invalid_request",
                f"The request is missing a required parameter, includes an "
                f"unsupported parameter value, or is otherwise malformed: {where}.",
            )
        registered = state.app_for(*_client_credentials(body))
        grant_type = body["grant_type"]
        if grant_type == "authorization_code":
            for name in ("code", "redirect_uri"):
                if not body.get(name):
                    raise error(400, "invalid_request", f"Missing required parameter: {name}.")
            answer = state.redeem_code(registered, body["code"], body["redirect_uri"], body.get("code_verifier"))
        elif grant_type == "client_credentials":
            answer = state.app_token(registered, body.get("scope"))
        else:
            raise error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        return json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post("/oauth/revoke")
    def revoke() -> Response:
        body = _params()
        registered = state.app_for(*_client_credentials(body))
        if not isinstance(body.get("token"), str) or not body["token"]:
            raise error(400, "invalid_request", "Missing required parameter: token.")
        state.revoke(registered, body["token"])
        return json_response({})


def _install_api(app: Flask, state: MastodonState) -> None:
    @app.get("/api/v1/accounts/verify_credentials")
    def verify_credentials() -> Response:
        token = _authorized(state, "GET /api/v1/accounts/verify_credentials")
        user = state.user_by_id(token.user_id)
        if user is None:  # the control API reset the users under a live token
            raise error(401, "The access token is invalid")
        return json_response(account_view(state, user, credential=True))

    @app.post("/api/v1/statuses")
    def create_status() -> Response:
        token = _authorized(state, "POST /api/v1/statuses", ("statuses", 1))
        key = request.headers.get("Idempotency-Key") or None
        with state.lock:
            status, _new = state.create_status(token, _checked_status_body(state), key)
        return json_response(status_view(state, status))

    @app.get("/api/v1/statuses/<status_id>")
    def get_status(status_id: str) -> Response:
        if request.headers.get("Authorization"):
            _authorized(state, "GET /api/v1/statuses/{id}")
        else:  # public statuses can be read without a token, counted per IP
            g.rate_headers = state.rate_headers([(request.remote_addr or "?", "unauthenticated", 1)])
        return json_response(status_view(state, state.look_up(status_id)))

    @app.delete("/api/v1/statuses/<status_id>")
    def delete_status(status_id: str) -> Response:
        token = _authorized(state, "DELETE /api/v1/statuses/{id}", ("delete", 1))
        status = state.delete_status(token, status_id)
        return json_response(status_view(state, status, with_source=True))

    @app.get("/api/v1/accounts/<account_id>/statuses")
    def account_statuses(account_id: str) -> Response:
        viewer = None
        if request.headers.get("Authorization"):
            viewer = _authorized(state, "GET /api/v1/accounts/{id}/statuses")
        else:  # public statuses can be read without a token (since 2.7.0), counted per IP
            g.rate_headers = state.rate_headers([(request.remote_addr or "?", "unauthenticated", 1)])
        user = state.user_by_id(account_id)
        if user is None:
            raise error(404, "Record not found")
        page = _statuses_page()
        statuses = state.account_statuses(user, viewer, page)
        views = [status_view(state, status) for status in statuses]
        return json_response(views, headers=_page_links(f"/api/v1/accounts/{account_id}/statuses", page, statuses))

    @app.post("/_sandbox/clock")
    def move_clock() -> Response:
        advance = control_body().get("advance")
        if not isinstance(advance, int | float) or isinstance(advance, bool) or advance < 0:
            raise ControlError("advance: seconds >= 0 to move this server's clock on")
        with state.lock:
            state.clock_offset += float(advance)
            return json_response({"now": utc_iso(state.now()), "offset": state.clock_offset})

    @app.post("/_sandbox/idempotency/expire")
    def forget_idempotency_keys() -> Response:
        handle = control_body().get("handle")
        if handle is not None and not isinstance(handle, str):
            raise ControlError("handle must be a string")
        return json_response({"expired": state.forget_idempotency_keys(handle)})
