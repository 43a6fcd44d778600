"""Calling Slack: slack_sdk's ``WebClient`` pointed at ``SLACK_API_BASE_URL``, its failures mapped once.

429 and 5xx (and a connection that failed) become ``RetryLater`` with Slack's ``Retry-After``; a person gone from
the workspace (``users_not_found``, ``user_disabled``, ``account_inactive`` …) becomes ``Unreachable``; anything else
(a revoked token, a missing scope) is a ``SlackError`` naming Slack's error code.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import current_app, g, has_request_context

from advocacy.accounts.crypto import decrypt
from advocacy.notifications.channels import RetryLater, Unreachable

if TYPE_CHECKING:  # slack_sdk (~2 MiB) loads on the first call to Slack, not with the web worker
    from slack_sdk import WebClient
    from slack_sdk.web import SlackResponse

log = logging.getLogger(__name__)
# what the app asks for when installed: DM people (im:write, chat:write) and find them by e-mail
SCOPES = ("chat:write", "im:write", "users:read", "users:read.email")
GONE = frozenset({"users_not_found", "user_not_found", "user_disabled", "account_inactive", "channel_not_found",
                  "is_archived", "cannot_dm_bot"})
DEFAULT_RETRY_AFTER = 30.0


class SlackError(Exception):
    """Slack refused the call for a reason retrying will not fix (``error``: Slack's code)."""

    def __init__(self, error: str, method: str) -> None:
        super().__init__(f"Slack refused {method}: {error}")
        self.error = error


def timeout() -> int:
    """Seconds a call to Slack may take: ``HTTP_TIMEOUT``, and less while answering Slack itself (``g.slack_timeout``:
    Slack gives the app 3 seconds to answer a click)."""
    seconds = max(1, int(current_app.config["HTTP_TIMEOUT"]))
    if has_request_context() and g.get("slack_timeout"):
        seconds = min(seconds, int(g.slack_timeout))
    return seconds


def web_client(token: str | None = None) -> WebClient:
    """A client of the configured Slack API; no retries of its own (a retried post could post twice)."""
    from slack_sdk import WebClient

    return WebClient(token=token, base_url=current_app.config["SLACK_API_BASE_URL"].rstrip("/") + "/",
                     timeout=timeout(), retry_handlers=[])


def bot_client() -> WebClient | None:
    """A client with the installed workspace's bot token; None when the app is not installed."""
    from advocacy.notifications.slack.install import current_installation

    installation = current_installation()
    if installation is None:
        return None
    return web_client(decrypt(installation.token_encrypted))


def _retry_after(headers: Any) -> float:
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(1.0, float(value))
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER


def call(client: WebClient, method: str, **kwargs: Any) -> SlackResponse:
    """``client.api_call``-style call of ``method`` (e.g. ``chat_postMessage``) with Slack's failures mapped.

    Raises:
        RetryLater: 429 or 5xx (after Retry-After) or the connection failed.
        Unreachable: the person is gone from the workspace.
        SlackError: any other refusal.
    """
    from slack_sdk.errors import SlackApiError, SlackClientError

    name = method.replace("_", ".", 1)
    try:
        response: SlackResponse = getattr(client, method)(**kwargs)
        return response
    except SlackApiError as exc:
        status = exc.response.status_code
        error = str(exc.response.get("error", "") or "")
        if status == 429 or error == "ratelimited":
            seconds = _retry_after(exc.response.headers)
            log.info("event=slack_rate_limited method=%s retry_after=%s", name, seconds)
            raise RetryLater(seconds, f"Slack is rate limiting {name}") from None
        if status >= 500:
            raise RetryLater(_retry_after(exc.response.headers), f"Slack answered {status} to {name}") from None
        if error in GONE:
            raise Unreachable(f"not in the Slack workspace any more ({error})") from None
        raise SlackError(error or f"HTTP {status}", name) from None
    except (SlackClientError, OSError) as exc:  # timeouts and refused connections (urllib raises OSErrors)
        raise RetryLater(DEFAULT_RETRY_AFTER, f"could not reach Slack: {type(exc).__name__}") from None
