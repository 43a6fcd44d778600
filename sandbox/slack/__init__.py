"""A local Slack: the OAuth v2 install, the Web API methods the advocacy app calls, and Slack calling the app back.

- ``/oauth/v2/authorize`` (the consent page) and ``/api/oauth.v2.access`` (client credentials by HTTP Basic or form;
  a code works once, for the ``redirect_uri`` it was issued to) give a bot token ``xoxb-…`` with the scopes granted.
- ``/api/auth.test``, ``users.lookupByEmail`` (``users_not_found``), ``conversations.open`` (one member: their DM),
  ``chat.postMessage`` and ``chat.update`` (Block Kit checked: ``invalid_blocks``, at most 50 blocks),
  ``views.open`` (a modal, with a ``trigger_id`` from a click, valid 3 seconds). Errors are HTTP 200
  ``{"ok": false, "error": …}``; a missing scope is ``missing_scope``; rate tiers answer 429 with ``Retry-After``.
- Interactivity (``interact``): clicks and modal submissions POSTed to the app's Request URL
  (``interactivity_url`` in the config), signed v0 as Slack signs them; ``response_url`` hooks.
- ``/messages``: every member's DMs as Slack would show them, with working buttons (the demo's "where did my
  message go").
- Control API: the shared one (``sandbox.common``: ``/_sandbox/posts`` lists the messages, faults, users (the
  workspace's members: ``{"email", "name", "deleted"}``), ``tokens/revoke`` uninstalls the app, config, reset), plus
  ``/_sandbox/click``, ``/_sandbox/views``, ``/_sandbox/interactions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

from sandbox.common import Fault, install_control, install_faults, json_response
from sandbox.slack.api import install_api
from sandbox.slack.interact import install_interactivity
from sandbox.slack.pages import install_pages
from sandbox.slack.state import (  # noqa: F401 (the package's public names)
    BOT_USER_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNING_SECRET,
    TEAM_ID,
    SlackState,
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Slack sandbox.

    Args:
        config: initial settings, the same keys ``POST /_sandbox/config`` takes.
    """
    app = Flask(__name__)
    state = SlackState(config)
    app.extensions["slack_sandbox"] = state
    install_faults(app, state, is_api=lambda path: path.startswith("/api/"), fault_response=fault_response)
    install_api(app, state)
    install_interactivity(app, state)
    install_pages(app, state)
    install_control(app, state)
    return app


def fault_response(fault: Fault) -> Response:
    """A fault answered as Slack answers: 429 with ``Retry-After`` and ``ratelimited``; 5xx with Slack's body."""
    status = fault.status or 500
    if fault.body is not None:
        return Response(fault.body, status, headers=fault.headers, mimetype=fault.content_type or "application/json")
    if status == 429:
        return json_response({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "1", **fault.headers})
    error = "service_unavailable" if status == 503 else "internal_error" if status >= 500 else "invalid_request"
    return json_response({"ok": False, "error": error}, status, fault.headers)
