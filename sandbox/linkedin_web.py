"""Helpers the LinkedIn sandbox's routes share: JSON answers, token and scope checks, the ``LinkedIn-Version``
header, and the validation of a post with Rest.li's error messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema
from flask import Response, request

from sandbox.linkedin_core import (
    _POST_SCHEMA,
    VERSION_RE,
    AccessToken,
    commentary_length,
    commentary_too_long,
    restli_error,
    service_error,
)
from sandbox.linkedin_state import (
    LinkedInState,
)
from sandbox.schemas.linkedin import (
    MAX_COMMENTARY,
    NOT_EMULATED,
    RESTLI_PROTOCOL_VERSION,
)


def _json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=dict(headers or {}), mimetype="application/json")


def _authorized(state: LinkedInState, endpoint: str, scope: str, resource: str) -> AccessToken:
    token = state.authenticate(request.headers.get("Authorization"))
    if scope not in token.scopes:
        raise service_error("ACCESS_DENIED", resource=resource)
    state.spend(token, endpoint)
    return token


def _versioned() -> str:
    """The ``LinkedIn-Version`` of a ``/rest/`` call; raises what LinkedIn answers for a missing or retired one."""
    if request.headers.get("X-Restli-Protocol-Version") != RESTLI_PROTOCOL_VERSION:
        raise restli_error(400, f"X-Restli-Protocol-Version must be {RESTLI_PROTOCOL_VERSION} for this resource",
                           "INVALID_PROTOCOL_VERSION")
    version = request.headers.get("LinkedIn-Version", "").strip()
    if not version:
        raise restli_error(400, "A version must be present. Please specify a version by adding the LinkedIn-Version "
                           "header.", "VERSION_MISSING")
    if not VERSION_RE.match(version):
        raise restli_error(400, f"Invalid version format {version}: use YYYYMM", "INVALID_VERSION")
    return version


def _check_active(state: LinkedInState, version: str) -> None:
    month = version[:6]
    if not state.config.oldest_version <= month <= state.config.newest_version:
        raise restli_error(426, f"Requested version {version} is not active", "NONEXISTENT_VERSION")


def _field_path(error: jsonschema.ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path)


def _restli_message(error: jsonschema.ValidationError) -> str:
    """One violation, worded the way Rest.li's validator words them (``ERROR :: /path :: problem``)."""
    where = _field_path(error)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        base = where.rstrip("/")
        return "\n".join(f"ERROR :: {base}/{name} :: unrecognized field found but not allowed"
                         for name in sorted(set(error.instance) - set(declared)))  # fmt: skip
    if error.validator == "required" and isinstance(error.instance, dict) and isinstance(error.validator_value, list):
        base = where.rstrip("/")
        return "\n".join(f"ERROR :: {base}/{name} :: field is required but not found and has no default value"
                         for name in error.validator_value if name not in error.instance)  # fmt: skip
    if error.validator == "enum":
        return f"ERROR :: {where} :: {json.dumps(error.instance)} is not an enum symbol"
    if error.validator == "type":
        return f"ERROR :: {where} :: {json.dumps(error.instance)} cannot be coerced to {error.validator_value}"
    return f"ERROR :: {where} :: {error.message}"


def _validated_post(token: AccessToken) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise restli_error(400, "Cannot parse the request body as a JSON object")
    errors = sorted(_POST_SCHEMA.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise restli_error(422, "\n".join(_restli_message(e) for e in errors) + "\n")
    content = body.get("content") or {}
    used = [n for n in NOT_EMULATED if n in body or (n.startswith("content.") and n[8:] in content)]
    if used:
        raise restli_error(422, f"The sandbox does not emulate {', '.join(used)}; LinkedIn checks it against what "
                           "it holds.")
    if body["lifecycleState"] != "PUBLISHED" or body["visibility"] == "CONTAINER":
        raise restli_error(422, "ERROR :: /lifecycleState :: members publish PUBLISHED posts with PUBLIC, "
                           "CONNECTIONS or LOGGED_IN visibility in this sandbox")
    if body["author"] != f"urn:li:person:{token.user_id}":
        raise service_error("ACCESS_DENIED", resource="partnerApiPostsExternal.CREATE (author is not the member)")
    if (length := commentary_length(body.get("commentary", ""))) > MAX_COMMENTARY:
        raise commentary_too_long(body["commentary"], length)
    if not body.get("commentary") and not content:
        raise restli_error(422, "ERROR :: /commentary :: a post needs commentary or content")
    return body
