"""The Threads sandbox's routes: the consent page and token calls, and the Graph API under ``/v1.0``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Flask, Response, request

from sandbox.common import json_response
from sandbox.threads_pages import AUTHORIZE_PARAMS, consent_page, page

if TYPE_CHECKING:
    from sandbox.threads import Post, ThreadsState, TokenRec

POST_FIELDS = ("id", "media_product_type", "media_type", "media_url", "permalink", "owner", "username", "text",
               "timestamp", "shortcode", "is_quote_post", "link_attachment_url", "topic_tag", "alt_text")


def _params() -> dict[str, str]:
    """Graph takes parameters in the query string and in a form body alike."""
    return {**request.args.to_dict(), **request.form.to_dict()}


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode({k: v for k, v in params.items() if v})) if q)
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query, fragment="_"))})


def _authorize_problem(state: ThreadsState, params: Mapping[str, str]) -> str | None:
    from sandbox.threads import SCOPES

    if params.get("client_id") != state.config.client_id:
        return "Invalid app ID: client_id is not a Threads app id."
    uri = params.get("redirect_uri", "")
    allowed = state.config.redirect_uris.split()
    if urlsplit(uri).scheme not in ("http", "https") or (allowed and uri not in allowed):
        return "URL blocked: this redirect_uri is not one of the app's valid OAuth redirect URIs."
    if params.get("response_type") != "code":
        return "response_type must be code."
    scopes = [s for s in params.get("scope", "").split(",") if s]
    if "threads_basic" not in scopes or not set(scopes) <= SCOPES:
        return "Invalid scopes: scope is a comma-separated list of Threads permissions including threads_basic."
    return None


def install_oauth(app: Flask, state: ThreadsState) -> None:
    from sandbox.threads import ApiError

    @app.get("/oauth/authorize")
    def authorize_page() -> Response:
        params = {k: request.args.get(k, "") for k in AUTHORIZE_PARAMS}
        problem = _authorize_problem(state, params)
        if problem:
            return page("Error", f'<h1>Something went wrong</h1><p class="error">{problem}</p>', 400)
        scopes = tuple(s for s in params["scope"].split(",") if s)
        return page("Allow access", consent_page(params, scopes, request.args.get("username", "demo"), ""))

    @app.post("/oauth/authorize")
    def authorize_decision() -> Response:
        params = {k: request.form.get(k, "") for k in AUTHORIZE_PARAMS}
        problem = _authorize_problem(state, params)
        if problem:
            return page("Error", f'<h1>Something went wrong</h1><p class="error">{problem}</p>', 400)
        if request.form.get("decision") != "allow":
            return _redirect(params["redirect_uri"], {
                "error": "access_denied", "error_reason": "user_denied",
                "error_description": "Permissions error", "state": params["state"]})
        username = request.form.get("username", "").strip().lstrip("@")
        scopes = tuple(s for s in params["scope"].split(",") if s)
        if not username or len(username) > 30:
            return page("Allow access", consent_page(params, scopes, username, "A username is 1 to 30 characters."),
                        400)
        code = state.issue_code(state.user(username), params["redirect_uri"], scopes)
        return _redirect(params["redirect_uri"], {"code": code, "state": params["state"]})

    @app.post("/oauth/access_token")
    def access_token() -> Response:
        body = request.form.to_dict()
        for name in ("client_id", "client_secret", "grant_type", "redirect_uri", "code"):
            if not body.get(name):
                raise ApiError(400, f"Missing {name} parameter.", 100)
        if body["grant_type"] != "authorization_code":
            raise ApiError(400, "Unsupported grant_type.", 100)
        return json_response(state.redeem_code(body["client_id"], body["client_secret"], body["code"],
                                               body["redirect_uri"]))

    @app.get("/access_token")
    def exchange() -> Response:
        args = request.args
        if args.get("grant_type") != "th_exchange_token":
            raise ApiError(400, "grant_type must be th_exchange_token.", 100)
        return json_response(state.exchange(args.get("client_secret", ""), args.get("access_token", "")))

    @app.get("/refresh_access_token")
    def refresh() -> Response:
        args = request.args
        if args.get("grant_type") != "th_refresh_token":
            raise ApiError(400, "grant_type must be th_refresh_token.", 100)
        return json_response(state.refresh(args.get("access_token", "")))


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    kind, _, value = header.partition(" ")
    if kind.lower() in ("bearer", "oauth") and value:
        return value.strip()
    return _params().get("access_token", "")


def install_api(app: Flask, state: ThreadsState) -> None:  # noqa: C901 - one route table
    from sandbox.threads import ApiError, bad_param, graph_time, no_object

    def caller(*scopes: str) -> TokenRec:
        rec = state.valid(_bearer())
        allowed, _ = state.take(rec.user_id, "calls")
        if not allowed:
            raise ApiError(400, "(#17) User request limit reached", 17, 2207051, transient=True)
        for scope in ("threads_basic", *scopes):
            if scope not in rec.scopes:
                raise ApiError(403, "(#10) Application does not have permission for this action", 10)
        return rec

    def own(node: str, rec: TokenRec) -> None:
        if node not in ("me", rec.user_id):
            raise no_object(node)

    def fields(wanted: str, available: Mapping[str, Any]) -> dict[str, Any]:
        names = [f for f in (wanted or "id").split(",") if f]
        return {n: available[n] for n in names if n in available and available[n] is not None} | {"id": available["id"]}

    def post_fields(post: Post) -> dict[str, Any]:
        user = state.user_by_id(post.user_id)
        name = user.username if user else "unknown"
        return {"id": post.id, "media_product_type": "THREADS", "media_type": post.media_type,
                "media_url": post.image_url, "permalink": f"{request.host_url}@{name}/post/{post.shortcode}",
                "owner": {"id": post.user_id}, "username": name, "text": post.text,
                "timestamp": graph_time(post.created_at), "shortcode": post.shortcode, "is_quote_post": False,
                "link_attachment_url": post.link_attachment, "topic_tag": post.topic_tag, "alt_text": post.alt_text}

    @app.get("/v1.0/<node>")
    def read_node(node: str) -> Response:
        rec = caller()
        wanted = request.args.get("fields", "")
        if node in ("me", rec.user_id):
            user = state.user_by_id(rec.user_id)
            assert user is not None
            return json_response(fields(wanted, {"id": user.id, "username": user.username, "name": user.username,
                                                 "threads_biography": ""}))
        with state.lock:
            container = state.containers.get(node)
            post = state.posts.get(node)
        if container is not None and container.user_id == rec.user_id:
            status = state.status_of(container)
            message = container.error_message if status in ("ERROR", "EXPIRED") else None
            if status == "EXPIRED" and not message:
                message = "The media container was not published within 24 hours."
            return json_response(fields(wanted, {"id": container.id, "status": status, "error_message": message}))
        if post is not None and not post.deleted:
            return json_response(fields(wanted, post_fields(post)))
        raise no_object(node)

    @app.post("/v1.0/<node>/threads")
    def create_container(node: str) -> Response:
        rec = caller("threads_content_publish")
        own(node, rec)
        return json_response({"id": state.create_container(rec, _params()).id})

    @app.post("/v1.0/<node>/threads_publish")
    def publish(node: str) -> Response:
        rec = caller("threads_content_publish")
        own(node, rec)
        creation_id = _params().get("creation_id", "")
        if not creation_id:
            raise bad_param("The parameter creation_id is required")
        return json_response({"id": state.publish(rec, creation_id).id})

    @app.get("/v1.0/<node>/threads_publishing_limit")
    def publishing_limit(node: str) -> Response:
        rec = caller()
        own(node, rec)
        row = {"quota_usage": state.quota_usage(rec.user_id),
               "config": {"quota_total": state.config.quota_total, "quota_duration": state.config.quota_duration}}
        return json_response({"data": [row]})

    @app.get("/v1.0/<node>/threads")
    def list_threads(node: str) -> Response:
        rec = caller()
        own(node, rec)
        args = request.args
        try:
            limit = min(max(int(args.get("limit", "25")), 1), 100)
            since = int(args["since"]) if args.get("since") else None
        except ValueError:
            raise bad_param("Param limit and since must be integers") from None
        if since is not None and since < 1712991600:
            raise bad_param("Param since must be at or after 1712991600")
        with state.lock:
            posts = sorted((p for p in state.posts.values() if p.user_id == rec.user_id and not p.deleted
                            and (since is None or p.created_at >= since)), key=lambda p: p.created_at, reverse=True)
        after = args.get("after")
        if after:
            ids = [p.id for p in posts]
            if after not in ids:
                raise bad_param("Param after is not a valid cursor")
            posts = posts[ids.index(after) + 1:]
        page_posts, more = posts[:limit], len(posts) > limit
        data = [fields(args.get("fields", ""), post_fields(p)) for p in page_posts]
        paging: dict[str, Any] = {}
        if page_posts:
            paging["cursors"] = {"before": page_posts[0].id, "after": page_posts[-1].id}
            if more:  # as Graph does, the next URL carries the token: never log it
                query = {**args.to_dict(), "after": page_posts[-1].id, "access_token": _bearer()}
                paging["next"] = f"{request.base_url}?{urlencode(query)}"
        return json_response({"data": data, "paging": paging})

    @app.get("/v1.0/<node>/insights")
    def post_insights(node: str) -> Response:
        rec = caller("threads_manage_insights")
        post = state.live_post(node)
        if post.user_id != rec.user_id:
            raise no_object(node)
        metrics = [m for m in request.args.get("metric", "").split(",") if m]
        unknown = [m for m in metrics if m not in ("views", "likes", "replies", "reposts", "quotes", "shares")]
        if not metrics or unknown:
            raise bad_param("metric must be a comma-separated list of views, likes, replies, reposts, quotes, shares")
        with state.lock:
            data = [{"name": m, "period": "lifetime", "values": [{"value": post.metrics.get(m) or 0}],
                     "title": m.capitalize(), "description": f"The number of {m} of your post.",
                     "id": f"{post.id}/insights/{m}/lifetime"} for m in metrics]
        return json_response({"data": data})

    @app.get("/v1.0/<node>/threads_insights")
    def user_insights(node: str) -> Response:
        rec = caller("threads_manage_insights")
        own(node, rec)
        user = state.user_by_id(rec.user_id)
        assert user is not None
        metrics = [m for m in request.args.get("metric", "").split(",") if m]
        data = []
        for m in metrics:
            if m != "followers_count":
                continue
            data.append({"name": m, "period": "day", "title": "Followers", "description": "Your followers.",
                         "total_value": {"value": user.followers}, "id": f"{user.id}/insights/{m}/day"})
        return json_response({"data": data})

    @app.delete("/v1.0/<node>")
    def delete(node: str) -> Response:
        rec = caller("threads_delete")
        post = state.live_post(node)
        if post.user_id != rec.user_id:
            raise no_object(node)
        with state.lock:
            post.deleted = True
        return json_response({"success": True, "deleted_id": post.id})
