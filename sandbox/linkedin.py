"""A local emulation of the LinkedIn API for members: 3-legged OAuth, OpenID ``userinfo``, Posts, Post Analytics.

LinkedIn publishes no machine-readable spec. This sandbox follows ``PLATFORMS.md`` and the shapes of LinkedIn's
developer documentation (the schemas in ``sandbox/schemas/linkedin.py`` say which); no conformance test
against a spec file is possible, so ``tests/connectors/test_linkedin_shapes.py`` holds each documented shape.

Endpoints: the consent page ``/oauth/v2/authorization`` (the tester may also grant ``r_member_postAnalytics``, as for
an app approved for the Community Management API), ``POST /oauth/v2/accessToken`` (authorization code and, when
configured for a partner app, refresh tokens), ``POST /oauth/v2/revoke``, ``GET /v2/userinfo``, and under ``/rest/``
(``LinkedIn-Version`` and ``X-Restli-Protocol-Version: 2.0.0`` required; a retired version answers 426)
``POST /rest/posts`` (an article, or ``media`` / ``multiImage`` naming the member's own AVAILABLE images),
``DELETE /rest/posts/<urn>``, ``GET /rest/memberCreatorPostAnalytics``, the Images API (``POST
/rest/images?action=initializeUpload`` for the member as owner, the ``PUT`` of the bytes to the upload URL it answers,
on this sandbox's own address, before that URL expires; ``GET /rest/images/<urn>`` with the status, JPG, PNG or GIF
within 36,152,320 pixels becoming AVAILABLE, anything else PROCESSING_FAILED); the public post page
``/feed/update/<urn>/``, the share dialog ``/sharing/share-offsite/``, and a JSON control API under ``/_sandbox/``
with the same endpoints and shapes as the X sandbox's (see ``create_app``). Daily limits per member and per app
reset at midnight UTC and, as on LinkedIn, no rate-limit headers and no ``Retry-After`` are sent; a fault with status
429 and no body is LinkedIn's infrastructure protection (``{"message": "Too Many Requests", "status": 429}``, no DAY
limit named), with whatever headers the fault names. A commentary is measured as received, escapes included, in
UTF-16 code units: over 3,000 is refused with LinkedIn's 400 ``FIELD_ARRAY_SIZE_TOO_HIGH``; an unescaped reserved
little-text character is not refused but, as LinkedIn does, cuts the text members see short at that character
(``text`` in the control API). State lives in memory behind one lock.

Modules: ``linkedin_core`` (constants, records, error answers, little text), ``linkedin_state`` (what the network
remembers), ``linkedin_web`` (helpers the routes share: JSON answers, tokens, versions, post validation),
``linkedin_pages`` (HTML: the consent page, the post page, the share dialog), ``linkedin_media`` (the Images API),
``linkedin_control`` (the ``/_sandbox/`` control API) and this module (the Flask app: hooks, tokens, posts,
analytics). This module re-exports their public names, so ``sandbox.linkedin`` reads as one module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, g, request

from sandbox.linkedin_control import (
    _install_control,
    _install_control_people,
)
from sandbox.linkedin_core import (  # noqa: F401 (the module's public names)
    DEFAULT_APP_DAY,
    DEFAULT_MEMBER_DAY,
    ENDPOINTS,
    ENTITY,
    FIRST_SHARE_ID,
    HANDLE,
    HASHTAG_TEMPLATE,
    IMAGE_ID_CHARS,
    IMAGE_URN_RE,
    METRICS,
    POST_URN_RE,
    RESERVED,
    VERSION_RE,
    AccessToken,
    ApiError,
    Config,
    ControlError,
    Fault,
    Grant,
    Image,
    Post,
    RefreshToken,
    User,
    commentary_length,
    commentary_too_long,
    render_little_text,
    restli_error,
    service_error,
    token_error,
    utc_iso,
)
from sandbox.linkedin_media import (
    _install_images,
)
from sandbox.linkedin_pages import (  # noqa: F401 (the module's public names)
    AUTHORIZE_PARAMS,
    PAGE,
    _install_consent,
    _install_pages,
    consent_page,
    page,
)
from sandbox.linkedin_state import (  # noqa: F401 (the module's public names)
    LinkedInState,
)
from sandbox.linkedin_web import (
    _authorized,
    _check_active,
    _json_response,
    _validated_post,
    _versioned,
)
from sandbox.schemas.linkedin import (
    ANALYTICS_QUERY_TYPES,
    METRIC_TYPE_KEY,
    USERINFO_CLAIMS,
)


# ---------------------------------------------------------------------------------------------------------- app
def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the LinkedIn sandbox.

    Control API (JSON): ``GET /_sandbox/posts``, ``POST /_sandbox/posts/<urn>/metrics``, ``POST /_sandbox/reset``,
    ``GET|POST|DELETE /_sandbox/faults``, ``GET|POST /_sandbox/users``, ``POST /_sandbox/tokens/expire``,
    ``POST /_sandbox/tokens/revoke``, ``GET|POST /_sandbox/config``.

    Args:
        config: initial settings, the same keys ``POST /_sandbox/config`` takes.
    """
    app = Flask(__name__)
    state = LinkedInState(config)
    app.extensions["linkedin_sandbox"] = state
    _install_hooks(app, state)
    _install_consent(app, state)
    _install_tokens(app, state)
    _install_api(app, state)
    _install_images(app, state)
    _install_pages(app, state)
    _install_control(app, state)
    _install_control_people(app, state)
    return app


def fault_response(fault: Fault) -> Response:
    headers = dict(fault.headers)
    status = fault.status or 500
    if fault.body is not None:
        return Response(fault.body, status, headers=headers, mimetype=fault.content_type or "text/html")
    body = {"message": HTTPStatus(status).phrase, "status": status}  # a 429 so: infrastructure protection
    return Response(json.dumps(body), status, headers=headers, mimetype=fault.content_type or "application/json")


def _install_hooks(app: Flask, state: LinkedInState) -> None:
    @app.errorhandler(ApiError)
    def render_api_error(exc: ApiError) -> Response:
        return _json_response(exc.body, exc.status, exc.headers)

    @app.errorhandler(ControlError)
    def render_control_error(exc: ControlError) -> Response:
        return _json_response({"error": str(exc)}, 400)

    @app.errorhandler(404)
    def unknown_route(exc: Exception) -> Response:
        if request.path.startswith(("/rest/", "/v2/")):
            return _json_response({"message": f"No resource found at {request.path}", "status": 404}, 404)
        return page("Not found", "<h1>This page doesn’t exist</h1>", 404)

    @app.errorhandler(405)
    def wrong_method(exc: Exception) -> Response:
        return _json_response({"message": f"{request.method} is not supported here", "status": 405}, 405)

    @app.before_request
    def delay_and_faults() -> Response | None:
        if request.path.startswith("/_sandbox/"):
            return None
        if request.path.startswith(("/rest/", "/v2/")):
            state.sleep(state.config.latency_ms / 1000)
        fault = state.pick_fault(request.method, request.path)
        if fault is None:
            return None
        if fault.after:
            g.after_fault = fault
            return None
        state.sleep(fault.delay)
        return None if fault.status is None else fault_response(fault)

    @app.after_request
    def lost_answer(response: Response) -> Response:
        fault = g.pop("after_fault", None)
        if fault is None:
            return response
        state.sleep(fault.delay)
        return response if fault.status is None else fault_response(fault)


def _install_tokens(app: Flask, state: LinkedInState) -> None:
    @app.post("/oauth/v2/accessToken")
    def access_token() -> Response:
        form = request.form
        if not request.mimetype == "application/x-www-form-urlencoded":
            raise token_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        state.check_client(form.get("client_id", ""), form.get("client_secret", ""))
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            for name in ("code", "redirect_uri"):
                if not form.get(name):
                    raise token_error(400, "invalid_request", f"A required parameter \"{name}\" is missing")
            answer = state.redeem_code(form["client_id"], form["code"], form["redirect_uri"])
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise token_error(400, "invalid_request", 'A required parameter "refresh_token" is missing')
            answer = state.redeem_refresh(form["client_id"], form["refresh_token"])
        elif not grant_type:
            raise token_error(400, "invalid_request", 'A required parameter "grant_type" is missing')
        else:
            raise token_error(400, "unsupported_grant_type", f"Grant type {grant_type} is not supported")
        return _json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post("/oauth/v2/revoke")
    def revoke() -> Response:
        state.check_client(request.form.get("client_id", ""), request.form.get("client_secret", ""))
        if not request.form.get("token"):
            raise token_error(400, "invalid_request", 'A required parameter "token" is missing')
        state.revoke_token(request.form["client_id"], request.form["token"])
        return Response(status=200)


def _install_api(app: Flask, state: LinkedInState) -> None:
    @app.get("/v2/userinfo")
    def userinfo() -> Response:
        token = _authorized(state, "GET /v2/userinfo", "openid", "userinfo.GET.NO_VERSION")
        user = state.user_by_id(token.user_id)
        if user is None:  # the control API reset the members under a live token
            raise service_error("INVALID_ACCESS_TOKEN")
        given, _, family = user.name.partition(" ")
        claims: dict[str, Any] = {
            "sub": user.id, "name": user.name, "given_name": given, "family_name": family or given,
            "picture": f"{request.host_url}media/{user.id}.jpg", "locale": {"country": "US", "language": "en"},
            "email": f"{user.handle.lower()}@example.invalid", "email_verified": True,
        }  # fmt: skip
        allowed = {c for s in token.scopes for c in USERINFO_CLAIMS.get(s, ())}
        return _json_response({k: v for k, v in claims.items() if k in allowed})

    @app.post("/rest/posts")
    def create_post() -> Response:
        version = _versioned()
        token = _authorized(state, "POST /rest/posts", "w_member_social", "partnerApiPostsExternal.CREATE")
        _check_active(state, version)
        with state.lock:
            body = _validated_post(token)
            state.check_post_media(token, body)
            post = state.create_post(token, body, version)
        return Response(status=201, headers={"x-restli-id": post.id, "x-linkedin-id": post.id.rsplit(":", 1)[1]})

    @app.delete("/rest/posts/<path:urn>")
    def delete_post(urn: str) -> Response:
        version = _versioned()
        token = _authorized(state, "DELETE /rest/posts", "w_member_social", "partnerApiPostsExternal.DELETE")
        _check_active(state, version)
        if not POST_URN_RE.match(urn):
            raise restli_error(400, f"Invalid post URN {urn}")
        state.delete_post(token, urn)
        return Response(status=204)

    @app.get("/rest/memberCreatorPostAnalytics")
    def post_analytics() -> Response:
        version = _versioned()
        token = _authorized(state, "GET /rest/memberCreatorPostAnalytics", "r_member_postAnalytics",
                            "memberCreatorPostAnalytics.GET")
        _check_active(state, version)
        args = request.args
        query_type, aggregation = args.get("queryType", ""), args.get("aggregation", "")
        if args.get("q") != "entity":
            raise restli_error(400, "The sandbox emulates the finder q=entity", "ILLEGAL_ARGUMENT")
        if query_type not in ANALYTICS_QUERY_TYPES:
            raise restli_error(400, f"Invalid queryType {query_type!r}: one of {', '.join(ANALYTICS_QUERY_TYPES)}",
                               "ILLEGAL_ARGUMENT")
        if aggregation != "TOTAL":
            raise restli_error(400, "The sandbox emulates aggregation=TOTAL", "ILLEGAL_ARGUMENT")
        match = ENTITY.match(args.get("entity", ""))
        if match is None or match.group(1) != match.group(2).split(":")[2]:
            raise restli_error(400, "entity must be (share:urn:li:share:N) or (ugcPost:urn:li:ugcPost:N), the URN "
                               "URL-encoded", "ILLEGAL_ARGUMENT")
        count = state.figure(token, match.group(2), query_type)
        element = {"count": count, "metricType": {METRIC_TYPE_KEY: query_type},
                   "targetEntity": {match.group(1): match.group(2)}}  # fmt: skip
        return _json_response({"paging": {"start": 0, "count": 10, "links": []}, "elements": [element]})


__all__ = ["LinkedInState", "create_app", "render_little_text"]
