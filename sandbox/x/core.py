"""Constants, the weighted text length, the t.co wrapping and the error answers of the X sandbox."""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import jsonschema

from sandbox.schemas.x import (
    LIGHT_RANGES,
    MEDIA_APPEND_REQUEST,
    MEDIA_INIT_REQUEST,
    MEDIA_UPLOAD_REQUEST,
    METADATA_CREATE_REQUEST,
    TWEET_CREATE_REQUEST,
    URL_WEIGHT,
)

PROBLEMS = "https://api.twitter.com/2/problems/"
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
TOO_LONG_DETAIL = (
    "Your Tweet text is too long. For more information on how X determines text length see "
    "https://github.com/twitter/twitter-text."
)
SCOPES = frozenset(
    {
        "tweet.read", "tweet.write", "tweet.moderate.write", "users.read", "follows.read", "follows.write",
        "offline.access", "space.read", "mute.read", "mute.write", "like.read", "like.write", "list.read",
        "list.write", "block.read", "bookmark.read", "bookmark.write", "media.write",
        "dm.read", "dm.write", "timeline.read",
    }
)  # fmt: skip
TWEET_FIELDS = frozenset(
    {"id", "text", "edit_history_tweet_ids", "author_id", "created_at", "public_metrics", "attachments", "entities"}
)
USER_FIELDS = frozenset({"id", "name", "username", "created_at", "description", "protected", "public_metrics"})
ENDPOINT_SCOPES = {
    "POST /2/tweets": ("tweet.read", "tweet.write", "users.read"),
    "DELETE /2/tweets/:id": ("tweet.read", "tweet.write", "users.read"),
    "GET /2/tweets": ("tweet.read", "users.read"),
    "GET /2/tweets/:id": ("tweet.read", "users.read"),
    "GET /2/users/me": ("tweet.read", "users.read"),
    "GET /2/users/:id/tweets": ("tweet.read", "users.read"),
    "POST /2/media/upload": ("media.write",),
    "POST /2/media/metadata": ("media.write",),
    "POST /2/media/upload/initialize": ("media.write",),
    "POST /2/media/upload/:id/append": ("media.write",),
    "POST /2/media/upload/:id/finalize": ("media.write",),
    "GET /2/media/upload": ("media.write",),
}
DEFAULT_RATE_LIMITS = {"POST /2/tweets": 100, "DELETE /2/tweets/:id": 50, "GET /2/tweets": 900,
                       "GET /2/tweets/:id": 900, "GET /2/users/me": 75,
                       "GET /2/users/:id/tweets": 900, "POST /2/media/upload": 500, "POST /2/media/metadata": 500,
                       "POST /2/media/upload/initialize": 500, "POST /2/media/upload/:id/append": 500,
                       "POST /2/media/upload/:id/finalize": 500, "GET /2/media/upload": 1000}
JOURNAL_SIZE = 20_000  # API requests remembered for GET /_sandbox/requests
METRIC_NAMES = ("retweet_count", "reply_count", "like_count", "quote_count", "bookmark_count", "impression_count")
HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
NUMERIC_ID = re.compile(r"^[0-9]{1,19}$")
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
URL_IN_TEXT = re.compile(r"(?:https?://|www\.)[^\s]+", re.IGNORECASE)
EMOJI_SEQUENCE = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf][\U0001f3fb-\U0001f3ff\ufe0f]*"
    "(?:\u200d[\U0001f000-\U0001faff\u2600-\u27bf][\U0001f3fb-\U0001f3ff\ufe0f]*)*"
)
TCO_PREFIX = "https://t.co/"  # X's link wrapper: every URL in a post's text reads back as one (23 characters)
TCO_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DISPLAY_URL_MAX = 35  # characters of a URL X shows before "…" (the spec's display_url example)
FIRST_TWEET_ID = 1_900_000_000_000_000_000
FIRST_MEDIA_ID = 1_950_000_000_000_000_000
MEDIA_IDS_INVALID = "Your media IDs are invalid."
_TWEET_SCHEMA = jsonschema.Draft7Validator(TWEET_CREATE_REQUEST)
_UPLOAD_SCHEMA = jsonschema.Draft7Validator(MEDIA_UPLOAD_REQUEST)
_METADATA_SCHEMA = jsonschema.Draft7Validator(METADATA_CREATE_REQUEST)
_INIT_SCHEMA = jsonschema.Draft7Validator(MEDIA_INIT_REQUEST)
_APPEND_SCHEMA = jsonschema.Draft7Validator(MEDIA_APPEND_REQUEST)


# ------------------------------------------------------------------------------------------------ text length
def weighted_length(text: str) -> int:
    """The length X counts for a post: twitter-text v3 weights, each URL 23, each emoji sequence 2.

    Args:
        text: the post text as sent.
    """
    text = unicodedata.normalize("NFC", text)
    total = 0

    def count_plain(chunk: str) -> int:
        units = 0
        pos = 0
        for match in EMOJI_SEQUENCE.finditer(chunk):
            units += _weigh(chunk[pos : match.start()]) + 2
            pos = match.end()
        return units + _weigh(chunk[pos:])

    pos = 0
    for match in URL_IN_TEXT.finditer(text):
        url = match.group(0).rstrip(".,;:!?)'\"")
        total += count_plain(text[pos : match.start()]) + URL_WEIGHT
        pos = match.start() + len(url)
    return total + count_plain(text[pos:])


def _weigh(chunk: str) -> int:
    return sum(1 if any(lo <= ord(ch) <= hi for lo, hi in LIGHT_RANGES) else 2 for ch in chunk)


def wrap_urls(text: str, salt: str) -> tuple[str, list[dict[str, Any]]]:
    """The text as X gives it back (every URL replaced by a ``https://t.co/<10 characters>`` link) and its
    ``entities.urls``: ``start``/``end`` (zero-based code points into the returned text, end exclusive), ``url`` (the
    t.co link), ``expanded_url`` (the URL as written) and ``display_url``. The sandbox follows no link, so it gives no
    ``unwound_url`` (X adds one when it has resolved the link's redirects).

    Args:
        text: the post text as sent.
        salt: something unique to the post (its id), so each post gets its own t.co links, as on X.
    """
    pieces: list[str] = []
    urls: list[dict[str, Any]] = []
    pos = length = 0
    for number, match in enumerate(URL_IN_TEXT.finditer(text)):
        url = match.group(0).rstrip(".,;:!?)'\"")
        before = text[pos : match.start()]
        digest = int.from_bytes(hashlib.sha256(f"{salt}:{number}:{url}".encode()).digest()[:8], "big")
        code = "".join(TCO_ALPHABET[(digest >> (6 * i)) % len(TCO_ALPHABET)] for i in range(10))
        short = TCO_PREFIX + code
        start = length + len(before)
        expanded = url if re.match(r"https?://", url, re.IGNORECASE) else "http://" + url
        shown = re.sub(r"^https?://", "", url, flags=re.IGNORECASE)
        if len(shown) > DISPLAY_URL_MAX:
            shown = shown[:DISPLAY_URL_MAX] + "\u2026"
        urls.append({"start": start, "end": start + len(short), "url": short, "expanded_url": expanded,
                     "display_url": shown})
        pieces += [before, short]
        length = start + len(short)
        pos = match.start() + len(url)
    pieces.append(text[pos:])
    return "".join(pieces), urls


class ApiError(Exception):
    """An answer other than success, rendered by the app's error handler."""

    def __init__(
        self, status: int, body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None, problem: bool = True
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})
        self.problem = problem


class ControlError(Exception):
    """A bad request to the control API."""


def utc_iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def problem(status: int, detail: str | None = None, *, title: str | None = None, **extra: Any) -> dict[str, Any]:
    """A problem+json body the way X writes generic problems (``type`` about:blank)."""
    phrase = HTTPStatus(status).phrase
    return {"title": title or phrase, "type": "about:blank", "status": status, "detail": detail or phrase, **extra}


def invalid_request(*messages: str, parameters: Mapping[str, list[str]] | None = None) -> ApiError:
    errors = [{"parameters": dict(parameters or {}), "message": m} for m in messages]
    return ApiError(
        400,
        {
            "errors": errors,
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request",
        },
    )


def not_found(parameter: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find tweet with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def token_error(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, {"error": error, "error_description": description}, problem=False)


def media_not_found(media_id: str) -> ApiError:
    return ApiError(404, {
        "value": media_id,
        "detail": f"Could not find media with id: [{media_id}].",
        "title": "Not Found Error",
        "resource_type": "media",
        "parameter": "id",
        "resource_id": media_id,
        "type": PROBLEMS + "resource-not-found",
    })
