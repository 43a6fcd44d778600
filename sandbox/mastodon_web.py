"""Helpers the Mastodon sandbox's routes share: request parameters, schema validation, client credentials, token
scopes, and the Rails-style paging of an account's statuses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import jsonschema
from flask import g, request

from sandbox.mastodon_core import (
    _STATUS_SCHEMA,
    ENDPOINT_SCOPES,
    INVALID_CLIENT,
    AccessToken,
    Status,
    countable_length,
    error,
)
from sandbox.mastodon_state import (
    MastodonState,
)
from sandbox.mastodon_views import (
    base_url,
)
from sandbox.schemas.mastodon import (
    ACCOUNT_STATUSES_NOT_EMULATED,
    ACCOUNT_STATUSES_PARAMS,
    DEFAULT_STATUSES_LIMIT,
    MAX_STATUSES_LIMIT,
    NOT_EMULATED,
)


def _params() -> dict[str, Any]:
    """The request's parameters: a JSON object, or a form (Rails reads both); ``key[]`` lists become lists."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise error(400, "Error while parsing request body")  # Rails' answer to broken JSON
        return body
    params: dict[str, Any] = {}
    for key in request.form:
        if key.endswith("[]"):
            params[key[:-2]] = request.form.getlist(key)
        else:
            params[key] = request.form[key]
    return params


def _validation_failed(validator: jsonschema.Draft202012Validator, body: Mapping[str, Any]) -> None:
    errors = sorted(validator.iter_errors(body), key=lambda x: list(map(str, x.absolute_path)))
    if errors:
        parts = []
        for err in errors:
            where = ".".join(map(str, err.absolute_path)) or (
                err.message.split("'")[1] if err.validator == "required" else "body"
            )
            parts.append(f"{where.replace('_', ' ').capitalize()} {_problem(err)}")
        raise error(422, "Validation failed: " + ", ".join(parts))


def _problem(err: jsonschema.ValidationError) -> str:
    if err.validator == "required":
        return "can't be blank"
    if err.validator == "enum":
        return "is not included in the list"
    if err.validator == "type":
        return f"must be a {err.validator_value}"
    return "is invalid"


def _client_credentials(body: Mapping[str, Any]) -> tuple[str, str | None]:
    """HTTP Basic or ``client_id`` and ``client_secret`` in the body (Doorkeeper takes both)."""
    basic = request.authorization
    if basic is not None and basic.type == "basic":
        return basic.username or "", basic.password
    client_id, secret = body.get("client_id"), body.get("client_secret")
    if not isinstance(client_id, str) or not client_id:
        raise error(401, "invalid_client", INVALID_CLIENT)
    return client_id, secret if isinstance(secret, str) else None


def _scoped(token: AccessToken, endpoint: str) -> None:
    allowed = ENDPOINT_SCOPES[endpoint]
    family = {s.split(":")[0] for s in allowed if s != "profile"}  # "read" covers read:…, "write" covers write:…
    if not any(s in token.scopes for s in (*allowed, *family)):
        raise error(403, "This action is outside the authorized scopes")
    if token.user_id is None:
        raise error(422, "This method requires an authenticated user")


def _authorized(state: MastodonState, endpoint: str, *extra: tuple[str, int]) -> AccessToken:
    """The caller's token, its windows spent (headers kept in ``g`` for every answer), scopes checked."""
    token = state.authenticate(request.headers.get("Authorization"))
    assert token is not None
    key = request.headers.get("Authorization", "")
    checks = [(key, "per_token", 1)] + [(token.user_id or token.client_id, name, cost) for name, cost in extra]
    g.rate_headers = state.rate_headers(checks)
    _scoped(token, endpoint)
    return token


def _checked_status_body(state: MastodonState) -> dict[str, Any]:
    """The fields of a valid ``POST /api/v1/statuses``; raises Mastodon's 422 otherwise."""
    body = _params()
    _validation_failed(_STATUS_SCHEMA, body)
    used = [name for name in NOT_EMULATED if body.get(name) not in (None, "", [], {})]
    if used:
        raise error(422, f"The sandbox does not emulate {', '.join(used)}")
    text = body.get("status", "")
    if not text.strip() and not body.get("media_ids"):
        raise error(422, "Validation failed: Text can't be blank")
    limit = state.config.max_characters
    if countable_length(text + body.get("spoiler_text", "")) > limit:
        raise error(422, f"Validation failed: Text character limit of {limit} exceeded")
    return body


def _rails_int(raw: str) -> int:
    """Ruby's ``String#to_i``: the leading digits (with a sign), 0 when there are none."""
    match = re.match(r"\s*([+-]?\d+)", raw)
    return int(match.group(1)) if match else 0


def _rails_true(raw: str | None) -> bool:
    """``ActiveModel::Type::Boolean``: blank and "0", "f", "false", "off" (any case) are false, the rest true."""
    return raw is not None and raw.strip() != "" and raw.strip().lower() not in ("0", "f", "false", "off")


def _statuses_page() -> dict[str, Any]:
    """The paging and filter parameters of ``GET /api/v1/accounts/:id/statuses``, read as Mastodon reads them.

    ``limit``: blank is the default (20), otherwise its integer value's magnitude, at most 40; an id bound that is
    not a number bounds nothing (Mastodon's ids are numbers). A filter the sandbox does not emulate (``tagged``) is
    answered 422.
    """
    args = request.args
    used = [name for name in ACCOUNT_STATUSES_NOT_EMULATED if args.get(name)]
    if used:
        raise error(422, f"The sandbox does not emulate {', '.join(used)}")
    raw_limit = args.get("limit", "")
    limit = DEFAULT_STATUSES_LIMIT if not raw_limit.strip() else min(abs(_rails_int(raw_limit)), MAX_STATUSES_LIMIT)
    page: dict[str, Any] = {"limit": limit}
    for name in ("max_id", "since_id", "min_id"):
        raw = args.get(name, "").strip()
        page[name] = int(raw) if raw.isdigit() else None
    for name, schema in ACCOUNT_STATUSES_PARAMS.items():
        if schema.get("type") == "boolean":
            page[name] = _rails_true(args.get(name))
    return page


def _page_links(path: str, page: Mapping[str, Any], statuses: list[Status]) -> dict[str, str]:
    """Mastodon's ``Link`` header: ``next`` (older, ``max_id``) when the page is full, ``prev`` (newer, ``min_id``)
    when it is not empty; each keeps the request's ``limit`` and filters."""
    if not statuses:
        return {}
    kept = {name: request.args[name] for name in ACCOUNT_STATUSES_PARAMS if name in request.args
            and name not in ("max_id", "since_id", "min_id")}
    links = []
    if len(statuses) >= page["limit"]:
        links.append(f'<{base_url()}{path}?{urlencode(kept | {"max_id": statuses[-1].id})}>; rel="next"')
    links.append(f'<{base_url()}{path}?{urlencode(kept | {"min_id": statuses[0].id})}>; rel="prev"')
    return {"Link": ", ".join(links)}
