"""Request and answer helpers the X sandbox's routes share (authorization, fields, the post views)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import jsonschema
from flask import Response, g, request

from sandbox.schemas.x import (
    MAX_WEIGHTED_LENGTH,
    NOT_EMULATED,
)
from sandbox.x.core import (
    _TWEET_SCHEMA,
    ENDPOINT_SCOPES,
    TOO_LONG_DETAIL,
    ApiError,
    ControlError,
    invalid_request,
    problem,
    weighted_length,
)
from sandbox.x.state import AccessToken, Fault, Post, XState


def _json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=dict(headers or {}), mimetype="application/json")


def _is_api(path: str) -> bool:
    return not path.startswith("/_sandbox/")


def fault_response(fault: Fault) -> Response:
    headers = dict(fault.headers)
    if fault.status == 429:
        now = int(time.time())
        headers.setdefault("x-rate-limit-limit", "100")
        headers.setdefault("x-rate-limit-remaining", "0")
        headers.setdefault("x-rate-limit-reset", str(now + fault.reset_in))
    if fault.body is not None:
        return Response(fault.body, fault.status or 200, headers=headers, mimetype=fault.content_type or "text/html")
    status = fault.status or 500
    body = json.dumps(problem(status))
    return Response(body, status, headers=headers, mimetype=fault.content_type or "application/problem+json")


def _fields(name: str, allowed: frozenset[str]) -> set[str]:
    raw = request.args.get(name)
    if raw is None:
        return set()
    values = {v for v in raw.split(",")}
    bad = sorted(v for v in values if v not in allowed)
    if bad or not raw:
        shown = ",".join(bad) or raw
        raise invalid_request(
            f"The `{name}` query parameter value [{shown}] is not one of [{','.join(sorted(allowed))}]",
            parameters={name: [raw]},
        )
    return values


def _only_params(*allowed: str) -> None:
    for name in request.args:
        if name not in allowed:
            message = f"The query parameter [{name}] is not one of [{','.join(allowed)}]"
            raise invalid_request(message, parameters={name: [request.args[name]]})


def _authorized(state: XState, endpoint: str) -> AccessToken:
    """The caller's token, its 15-minute window spent (headers kept in ``g`` for every answer), scopes checked."""
    token = state.authenticate(request.headers.get("Authorization"))
    g.rate_headers = state.rate_headers(token, endpoint)
    missing = [s for s in ENDPOINT_SCOPES[endpoint] if s not in token.scopes]
    if missing:
        raise ApiError(403, problem(403, f"Missing required OAuth 2.0 scopes: {' '.join(missing)}"))
    return token


def _metrics_view(post: Post) -> dict[str, int]:
    return {k: v for k, v in post.metrics.items() if v is not None}


def _tweet_view(post: Post, fields: set[str]) -> dict[str, Any]:
    """A post as X's read endpoints give it: its text with t.co links, and the fields asked for."""
    view: dict[str, Any] = {"id": post.id, "text": post.shown_text, "edit_history_tweet_ids": [post.id]}
    if "author_id" in fields:
        view["author_id"] = post.author_id
    if "created_at" in fields:
        view["created_at"] = post.created_at
    if "public_metrics" in fields:
        view["public_metrics"] = _metrics_view(post)
    if "attachments" in fields and post.media:
        view["attachments"] = {"media_keys": [m["media_key"] for m in post.media]}
    if "entities" in fields and post.urls:  # X leaves entities out when the text holds none
        view["entities"] = {"urls": [dict(u) for u in post.urls]}
    return view


def _time_param(name: str) -> str | None:
    """An RFC 3339 time query parameter as the sandbox's own ISO form (comparable as text), or a 400."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        parsed = time.strptime(raw.replace(".000", "").rstrip("Z"), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise invalid_request(f"Invalid '{name}':'{raw}'. '{name}' must be a timestamp such as "
                              "YYYY-MM-DDTHH:mm:ssZ.") from None
    return time.strftime("%Y-%m-%dT%H:%M:%S", parsed) + ".000Z"


def _validate_tweet_body() -> tuple[str, list[str]]:
    """The text and media ids of a valid ``POST /2/tweets`` body; raises the 400 X answers otherwise."""
    body = request.get_json(silent=True)
    if body is None:
        raise invalid_request("The request body is not valid JSON.")
    errors = sorted(_TWEET_SCHEMA.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise invalid_request(*(_schema_message(e) for e in errors))
    used = [name for name in NOT_EMULATED if name in body]
    if used:
        raise invalid_request(f"The sandbox does not emulate {', '.join(used)}; X checks it against what it holds.")
    media_ids = [str(m) for m in body.get("media", {}).get("media_ids", [])]
    text = body.get("text") or ""
    if not text and not media_ids:
        raise invalid_request("You must provide the text of the post (or media).")
    if weighted_length(text) > MAX_WEIGHTED_LENGTH:
        raise ApiError(400, problem(400, TOO_LONG_DETAIL))
    return str(text), media_ids


JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def _schema_message(error: jsonschema.ValidationError) -> str:
    """One schema violation, worded the way X words them (``$.path: problem``)."""
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        return "; ".join(
            f"{where}.{name}: is not defined in the schema and the schema does not allow additional properties"
            for name in sorted(set(error.instance) - set(declared))
        )
    if error.validator == "type":
        found = JSON_TYPES.get(type(error.instance), "null")
        return f"{where}: {found} found, {error.validator_value} expected"
    return f"{where}: {error.message}"


def _control_body() -> dict[str, Any]:
    data = request.get_json(silent=True) if request.data else {}
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data
