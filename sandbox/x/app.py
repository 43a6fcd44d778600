"""The X sandbox's Flask app: hooks (latency, faults, journal), OAuth tokens, posts, the timeline, control."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, g, request

from sandbox.x.core import (
    HANDLE,
    NUMERIC_ID,
    TWEET_FIELDS,
    USER_FIELDS,
    VERIFIER,
    ApiError,
    ControlError,
    _is_count,
    invalid_request,
    not_found,
    problem,
    token_error,
)
from sandbox.x.media import _install_chunked, _install_media
from sandbox.x.pages import _install_consent, _install_pages, page
from sandbox.x.state import XState
from sandbox.x.web import (
    _authorized,
    _control_body,
    _fields,
    _is_api,
    _json_response,
    _only_params,
    _time_param,
    _tweet_view,
    _validate_tweet_body,
    fault_response,
)


# ---------------------------------------------------------------------------------------------------------- app
def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the X sandbox.

    Control API (JSON): ``GET /_sandbox/posts`` (each with the ``media`` it carries), ``GET /_sandbox/media`` (the
    uploads), ``POST /_sandbox/posts/<id>/metrics``, ``POST /_sandbox/reset``, ``GET|POST|DELETE /_sandbox/faults``,
    ``GET|POST /_sandbox/users``, ``POST /_sandbox/tokens/expire``, ``POST /_sandbox/tokens/revoke``,
    ``GET|POST /_sandbox/config``.

    Args:
        config: initial settings, the same keys ``POST /_sandbox/config`` takes.
    """
    app = Flask(__name__)
    state = XState(config)
    app.extensions["x_sandbox"] = state
    _install_hooks(app, state)
    _install_consent(app, state)
    _install_tokens(app, state)
    _install_api(app, state)
    _install_media(app, state)
    _install_chunked(app, state)
    _install_timeline(app, state)
    _install_pages(app, state)
    _install_control(app, state)
    _install_control_people(app, state)
    return app


def _install_hooks(app: Flask, state: XState) -> None:
    @app.errorhandler(ApiError)
    def render_api_error(exc: ApiError) -> Response:
        mimetype = "application/problem+json" if exc.problem else "application/json"
        return Response(json.dumps(exc.body), exc.status, headers=exc.headers, mimetype=mimetype)

    @app.errorhandler(ControlError)
    def render_control_error(exc: ControlError) -> Response:
        return _json_response({"error": str(exc)}, 400)

    @app.errorhandler(404)
    def unknown_route(exc: Exception) -> Response:
        if request.path.startswith("/2/"):  # X's v1-style answer for a route it does not have
            return _json_response({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}, 404)
        return page("Not found", "<h1>Hmm… this page doesn’t exist.</h1>", 404)

    @app.before_request
    def delay_and_faults() -> Response | None:
        g.arrived = time.time()
        g.generation = state.generation
        if not _is_api(request.path):
            return None
        if request.path.startswith("/2/"):
            state.sleep(state.config.latency_ms / 1000)
        fault = state.pick_fault(request.method, request.path)
        if fault is None:
            return _reset_meanwhile(state)
        if fault.after:
            g.after_fault = fault
            return _reset_meanwhile(state)
        state.sleep(fault.delay)
        return _reset_meanwhile(state) or (None if fault.status is None else fault_response(fault))

    @app.after_request
    def journal(response: Response) -> Response:  # registered before lost_answer, runs after it: the final answer
        return _note_request(state, response)

    @app.after_request
    def lost_answer(response: Response) -> Response:
        fault = g.pop("after_fault", None)
        if fault is None:
            return response
        state.sleep(fault.delay)
        return response if fault.status is None else fault_response(fault)

    @app.after_request
    def rate_limit_headers(response: Response) -> Response:  # runs before lost_answer: a fault's answer is its own
        for name, value in g.get("rate_headers", {}).items():
            response.headers.setdefault(name, value)
        return response


def _reset_meanwhile(state: XState) -> Response | None:
    """A 503 for a request that waited (latency, an injected delay) while the sandbox was reset: it does nothing."""
    if g.get("generation", state.generation) == state.generation:
        return None
    return Response(json.dumps(problem(503, "The sandbox was reset while this request waited.")), 503,
                    mimetype="application/problem+json")


def _note_request(state: XState, response: Response) -> Response:
    if _is_api(request.path) and not request.path.startswith("/i/"):
        state.note({"at": g.get("arrived", time.time()), "method": request.method, "path": request.path,
                    "status": response.status_code, "handle": state.handle_of(request.headers.get("Authorization")),
                    "reset": response.headers.get("x-rate-limit-reset")}, g.get("generation"))
    return response


def _install_tokens(app: Flask, state: XState) -> None:
    @app.post("/2/oauth2/token")
    def token() -> Response:
        client_id = _client_auth(state)
        form = request.form
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            for name in ("code", "redirect_uri", "code_verifier"):
                if not form.get(name):
                    raise token_error(400, "invalid_request", f"Missing required parameter [{name}].")
            if not VERIFIER.match(form["code_verifier"]):
                raise token_error(400, "invalid_request", "Value passed for the code verifier was invalid.")
            answer = state.redeem_code(client_id, form["code"], form["redirect_uri"], form["code_verifier"])
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise token_error(400, "invalid_request", "Missing required parameter [refresh_token].")
            answer = state.redeem_refresh(client_id, form["refresh_token"], form.get("scope"))
        elif not grant_type:
            raise token_error(400, "invalid_request", "Missing required parameter [grant_type].")
        else:
            raise token_error(400, "unsupported_grant_type", f"Grant type {grant_type} is not supported.")
        return _json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post("/2/oauth2/revoke")
    def revoke() -> Response:
        client_id = _client_auth(state)
        if not request.form.get("token"):
            raise token_error(400, "invalid_request", "Missing required parameter [token].")
        state.revoke_token(client_id, request.form["token"])
        return _json_response({"revoked": True})


def _client_auth(state: XState) -> str:
    """Client authentication on the token endpoints: HTTP Basic (confidential) or client_id in the body (public)."""
    basic = request.authorization
    body_id = request.form.get("client_id")
    if basic is not None and basic.type == "basic":
        client_id, secret = basic.username or "", basic.password
        if body_id and body_id != client_id:
            raise token_error(400, "invalid_request", "client_id in the body and in the header differ.")
    elif body_id:
        client_id, secret = body_id, None
    else:
        raise token_error(401, "unauthorized_client", "Missing valid authorization header")
    state.check_client(client_id, secret)
    return client_id


def _install_api(app: Flask, state: XState) -> None:
    @app.post("/2/tweets")
    def create_tweet() -> Response:
        token = _authorized(state, "POST /2/tweets")
        with state.lock:  # the 24-hour caps are checked and spent in one step
            room, day = state.day_headers(token, spend=False)
            g.rate_headers |= day
            if not room:
                raise ApiError(429, problem(429))
            text, media_ids = _validate_tweet_body()
            post = state.create_post(token, text, request.get_json(), media_ids)
            g.rate_headers |= state.day_headers(token, spend=True)[1]
        data = {"id": post.id, "text": post.shown_text, "edit_history_tweet_ids": [post.id]}
        return _json_response({"data": data}, 201, {"location": f"{request.host_url}2/tweets/{post.id}"})

    @app.delete("/2/tweets/<post_id>")
    def delete_tweet(post_id: str) -> Response:
        token = _authorized(state, "DELETE /2/tweets/:id")
        if not NUMERIC_ID.match(post_id):
            raise invalid_request(f"The `id` path parameter value [{post_id}] is not a post id")
        state.delete_post(token, post_id)
        return _json_response({"data": {"deleted": True}})

    @app.get("/2/tweets")
    def lookup_tweets() -> Response:
        _authorized(state, "GET /2/tweets")
        _only_params("ids", "tweet.fields", "expansions", "user.fields")
        fields = _fields("tweet.fields", TWEET_FIELDS)
        _fields("user.fields", USER_FIELDS)
        raw = request.args.get("ids", "")
        ids = list(dict.fromkeys(raw.split(","))) if raw else []
        if not 1 <= len(ids) <= 100:
            raise invalid_request(
                f"The number of values in the `ids` query parameter list [{len(ids)}] is not between 1 and 100",
                parameters={"ids": [raw]},
            )
        bad = [i for i in ids if not NUMERIC_ID.match(i)]
        if bad:
            raise invalid_request(
                f"The `ids` query parameter value [{bad[0]}] does not match ^[0-9]{{1,19}}$", parameters={"ids": [raw]}
            )
        found, errors = [], []
        for post_id in ids:
            post = state.look_up(post_id)
            if post is None:
                errors.append(not_found("ids", post_id))
            else:
                found.append(_tweet_view(post, fields))
        answer: dict[str, Any] = {}
        if found:
            answer["data"] = found
        if errors:
            answer["errors"] = errors
        return _json_response(answer)

    @app.get("/2/users/me")
    def me() -> Response:
        token = _authorized(state, "GET /2/users/me")
        _only_params("user.fields", "tweet.fields", "expansions")
        fields = _fields("user.fields", USER_FIELDS)
        _fields("tweet.fields", TWEET_FIELDS)
        user = state.user_by_id(token.user_id)
        if user is None:  # the control API reset the users under a live token
            raise ApiError(401, problem(401, "Unauthorized"))
        with state.lock:
            posts = sum(1 for p in state.posts.values() if p.author_id == user.id and not p.deleted)
        data: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.handle}
        optional: dict[str, Callable[[], Any]] = {
            "created_at": lambda: user.created_at,
            "description": lambda: f"{user.name}, emulated by the advocacy X sandbox.",
            "protected": lambda: False,
            "public_metrics": lambda: {
                "followers_count": user.followers,
                "following_count": user.following,
                "tweet_count": posts,
                "listed_count": 0,
                "like_count": 0,
            },
        }
        data |= {name: make() for name, make in optional.items() if name in fields}
        return _json_response({"data": data})


def _install_timeline(app: Flask, state: XState) -> None:
    """``GET /2/users/:id/tweets``: a person's recent posts, newest first, paged (what ``find_post`` reads); and
    ``GET /2/tweets/:id``, one post."""

    @app.get("/2/tweets/<post_id>")
    def lookup_tweet(post_id: str) -> Response:
        _authorized(state, "GET /2/tweets/:id")
        _only_params("tweet.fields", "expansions", "user.fields", "media.fields", "poll.fields", "place.fields")
        fields = _fields("tweet.fields", TWEET_FIELDS)
        _fields("user.fields", USER_FIELDS)
        if not NUMERIC_ID.match(post_id):
            raise invalid_request(f"The `id` query parameter value [{post_id}] does not match ^[0-9]{{1,19}}$",
                                  parameters={"id": [post_id]})
        post = state.look_up(post_id)
        if post is None:  # X answers 200 with the error, as for a missing id in GET /2/tweets
            return _json_response({"errors": [not_found("id", post_id)]})
        return _json_response({"data": _tweet_view(post, fields)})

    @app.get("/2/users/<user_id>/tweets")
    def user_timeline(user_id: str) -> Response:
        _authorized(state, "GET /2/users/:id/tweets")
        _only_params("max_results", "start_time", "end_time", "pagination_token", "tweet.fields", "exclude",
                     "since_id", "until_id", "expansions", "user.fields")
        fields = _fields("tweet.fields", TWEET_FIELDS)
        if not NUMERIC_ID.match(user_id):
            raise invalid_request(f"The `id` query parameter value [{user_id}] does not match ^[0-9]{{1,19}}$")
        raw_max = request.args.get("max_results", "10")
        if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
            raise invalid_request(f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100")
        start = _time_param("start_time")
        end = _time_param("end_time")
        with state.lock:
            mine = sorted((p for p in state.posts.values() if p.author_id == user_id and not p.deleted
                           and (start is None or p.created_at >= start) and (end is None or p.created_at < end)),
                          key=lambda p: int(p.id), reverse=True)
        raw_token = request.args.get("pagination_token") or "0"
        offset = int(raw_token) if raw_token.isdigit() else 0
        page_posts = mine[offset : offset + int(raw_max)]
        meta: dict[str, Any] = {"result_count": len(page_posts)}
        if page_posts:
            meta |= {"newest_id": page_posts[0].id, "oldest_id": page_posts[-1].id}
        if offset + int(raw_max) < len(mine):
            meta["next_token"] = str(offset + int(raw_max))
        answer: dict[str, Any] = {"meta": meta}
        if page_posts:
            answer["data"] = [_tweet_view(p, fields) for p in page_posts]
        return _json_response(answer)


def _install_control(app: Flask, state: XState) -> None:
    body = _control_body

    @app.get("/_sandbox/posts")
    def list_posts() -> Response:
        with state.lock:
            return _json_response({"posts": [state.post_view(p) for p in state.posts.values()]})

    @app.post("/_sandbox/posts/<post_id>/metrics")
    def set_metrics(post_id: str) -> Response:
        return _json_response({"post": state.post_view(state.set_metrics(post_id, body()))})

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        state.reset()
        return _json_response({"reset": True})

    @app.get("/_sandbox/requests")
    def list_requests() -> Response:
        with state.lock:
            return _json_response({"requests": list(state.journal)})

    @app.get("/_sandbox/faults")
    def list_faults() -> Response:
        with state.lock:
            return _json_response({"faults": [dataclasses.asdict(f) for f in state.faults]})

    @app.post("/_sandbox/faults")
    def add_fault() -> Response:
        return _json_response({"fault": dataclasses.asdict(state.add_fault(body()))}, 201)

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        with state.lock:
            state.faults.clear()
        return _json_response({"faults": []})


def _install_control_people(app: Flask, state: XState) -> None:
    body = _control_body

    @app.get("/_sandbox/users")
    def list_users() -> Response:
        with state.lock:
            return _json_response({"users": [dataclasses.asdict(u) for u in state.users.values()]})

    @app.post("/_sandbox/users")
    def upsert_user() -> Response:
        data = body()
        handle = data.get("handle")
        if not isinstance(handle, str) or not HANDLE.match(handle):
            raise ControlError("handle: 1 to 15 letters, digits or _")
        for key in ("followers", "following"):
            if data.get(key) is not None and not _is_count(data[key]):
                raise ControlError(f"{key} must be an integer >= 0")
        user = state.user(handle, data.get("followers"), data.get("following"))
        return _json_response({"user": dataclasses.asdict(user)})

    @app.post("/_sandbox/tokens/expire")
    def expire_tokens() -> Response:
        access, _ = state.tokens_of(body().get("handle"))
        with state.lock:
            for token in access:
                token.expires_at = min(token.expires_at, time.time() - 1)
        return _json_response({"expired": len(access)})

    @app.post("/_sandbox/tokens/revoke")
    def revoke_tokens() -> Response:
        handle = body().get("handle")
        if not isinstance(handle, str):
            raise ControlError("handle is required: whose tokens to revoke")
        access, refresh = state.tokens_of(handle)
        with state.lock:
            for token in access:
                token.revoked = True
            for rt in refresh:
                rt.alive = False
        return _json_response({"revoked": len(access) + len(refresh)})

    @app.get("/_sandbox/config")
    def get_config() -> Response:
        with state.lock:
            return _json_response({"config": dataclasses.asdict(state.config)})

    @app.post("/_sandbox/config")
    def set_config() -> Response:
        return _json_response({"config": state.configure(body())})
