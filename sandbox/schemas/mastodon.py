"""Our JSON Schemas (2020-12) of the bodies a Mastodon server accepts, and the rules it applies in code.

Written by us for the sandbox; ``tests/connectors/test_mastodon_conformance.py`` compares them with the Mastodon
OpenAPI spec so the two cannot drift apart silently. Mastodon is a Rails app: it ignores parameters it does not
know (so ``additionalProperties`` stays open, as in the spec) and checks the rest in its models, answering 422 with
``{"error": "Validation failed: …"}``; the rules a schema cannot say are checked in ``sandbox/mastodon_web.py`` and
``sandbox/mastodon_state.py``.
"""

from __future__ import annotations

from typing import Any

STRING: dict[str, Any] = {"type": "string"}
VISIBILITIES = ["public", "unlisted", "private", "direct"]

APP_CREATE_REQUEST: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "POST /api/v1/apps (advocacy sandbox)",
    "type": "object",
    "properties": {
        "client_name": STRING,
        "redirect_uris": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "scopes": {"type": "string", "format": "scopes"},
        "website": STRING,
    },
    "required": ["client_name", "redirect_uris"],
}

STATUS_CREATE_REQUEST: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "POST /api/v1/statuses (advocacy sandbox): text, media or poll status",
    "type": "object",
    "properties": {
        "status": STRING,
        "media_ids": {"type": "array", "items": STRING},
        "poll": {
            "type": "object",
            "properties": {
                "options": {"type": "array", "items": STRING},
                "expires_in": {"type": "integer"},
                "multiple": {"type": "boolean"},
                "hide_totals": {"type": "boolean"},
            },
        },
        "in_reply_to_id": STRING,
        "language": STRING,
        "quote_approval_policy": STRING,
        "quoted_status_id": STRING,
        "scheduled_at": {"type": "string", "format": "date-time"},
        "sensitive": {"type": "boolean"},
        "spoiler_text": STRING,
        "visibility": {"type": "string", "enum": VISIBILITIES},
    },
}

TOKEN_REQUEST: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "POST /oauth/token (advocacy sandbox)",
    "type": "object",
    "properties": {
        "client_id": STRING,
        "client_secret": STRING,
        "code": STRING,
        "grant_type": STRING,
        "redirect_uri": STRING,
        "code_verifier": STRING,
        "scope": STRING,
    },
    # the spec's required list is that of the authorization_code grant; the sandbox checks it per grant in code
    "required": ["grant_type"],
}

# Body fields the sandbox accepts by schema but does not emulate: a status using them gets a clear 422.
NOT_EMULATED = ("poll", "scheduled_at", "quoted_status_id", "quote_approval_policy")

# What Mastodon counts (StatusLengthValidator): grapheme clusters of text + content warning, each URL as 23.
MAX_CHARACTERS = 500
URL_LENGTH = 23

# ``POST /api/v2/media`` (multipart/form-data): the file and its description. The sandbox emulates images;
# a custom ``thumbnail`` (for video and audio) gets a clear 422. Checked in code: the file's real type (Mastodon
# detects it from the bytes, whatever the part says), its size, the description's length.
MEDIA_CREATE_REQUEST: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "POST /api/v2/media (advocacy sandbox)",
    "type": "object",
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "description": STRING,
        "focus": STRING,
        "thumbnail": {"type": "string", "format": "binary"},
    },
    "required": ["file"],
}
MEDIA_NOT_EMULATED = ("thumbnail",)

# MediaAttachment's limits in Mastodon 4 (app/models/media_attachment.rb), and the attachments a status takes.
IMAGE_SIZE_LIMIT = 16 * 1024 * 1024
IMAGE_MIME_TYPES = ("image/jpeg", "image/png", "image/gif", "image/heic", "image/heif", "image/webp", "image/avif")
MAX_DESCRIPTION_LENGTH = 1500
MAX_MEDIA_ATTACHMENTS = 4

# ``GET /api/v1/accounts/:id/statuses``: its query parameters (the path's ``id`` aside), by the spec's types. The
# sandbox reads them as Rails does (``limit`` as ``to_i``, booleans as ActiveModel's cast); ``tagged`` (statuses
# with a hashtag) gets a clear 422. ``limit``: 20 when blank, at most 40.
ACCOUNT_STATUSES_PARAMS: dict[str, dict[str, Any]] = {
    "exclude_reblogs": {"type": "boolean"},
    "exclude_replies": {"type": "boolean"},
    "limit": {"type": "integer"},
    "max_id": STRING,
    "min_id": STRING,
    "only_media": {"type": "boolean"},
    "pinned": {"type": "boolean"},
    "since_id": STRING,
    "tagged": STRING,
}
ACCOUNT_STATUSES_NOT_EMULATED = ("tagged",)
DEFAULT_STATUSES_LIMIT = 20
MAX_STATUSES_LIMIT = 40
