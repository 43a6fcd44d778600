"""The LinkedIn sandbox's JSON control API under ``/_sandbox/``: posts and metrics, reset, faults, users, tokens and
config."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from flask import Flask, Response, request

from sandbox.linkedin_core import (
    HANDLE,
    ControlError,
)
from sandbox.linkedin_state import (
    LinkedInState,
    _is_count,
)
from sandbox.linkedin_web import (
    _json_response,
)


def _control_body() -> dict[str, Any]:
    data = request.get_json(silent=True) if request.data else {}
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _install_control(app: Flask, state: LinkedInState) -> None:
    body = _control_body

    @app.get("/_sandbox/posts")
    def list_posts() -> Response:
        with state.lock:
            return _json_response({"posts": [state.post_view(p) for p in state.posts.values()]})

    @app.post("/_sandbox/posts/<path:urn>/metrics")
    def set_metrics(urn: str) -> Response:
        return _json_response({"post": state.post_view(state.set_metrics(urn, body()))})

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        state.reset()
        return _json_response({"reset": True})

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


def _install_control_people(app: Flask, state: LinkedInState) -> None:
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
            raise ControlError("handle: 1 to 40 letters, digits, _ . or -")
        if data.get("followers") is not None and not _is_count(data["followers"]):
            raise ControlError("followers must be an integer >= 0")
        if data.get("name") is not None and (not isinstance(data["name"], str) or not data["name"].strip()):
            raise ControlError("name must be a non-empty string")
        return _json_response({"user": dataclasses.asdict(state.user(handle, data.get("followers"), data.get("name")))})

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
